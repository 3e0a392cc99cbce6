#!/usr/bin/env node
// A tiny static server for dist/ on 127.0.0.1 (loopback only: nothing is reachable from
// other machines). `npm run start` runs it and prints the URL. Also used by the browser
// tests (`import { serve } from "../../tools/serve.mjs"`).
//
// worker.js gets a Content-Security-Policy header of its own (a worker started from a URL
// follows the policy sent with its script, not the page's meta tag): it may load the
// .wasm beside it and nothing else.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};
const WORKER_CSP = "default-src 'none'; connect-src 'self'; script-src 'self' 'wasm-unsafe-eval'";

export function serve(dir, port = 0, host = "127.0.0.1") {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (rel.endsWith("/")) rel += "index.html";
    const file = path.resolve(root, "." + rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const headers = {
      "content-type": TYPES[path.extname(file)] || "application/octet-stream",
      "x-content-type-options": "nosniff",
      "cache-control": "no-cache",
    };
    if (path.basename(file) === "worker.js") headers["content-security-policy"] = WORKER_CSP;
    res.writeHead(200, headers);
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = process.argv[2] || "dist";
  const port = parseInt(process.env.PORT || "8080", 10);
  if (!fs.existsSync(path.join(dir, "index.html"))) {
    console.error(`serve: ${dir}/index.html not found: run \`npm run build\` first`);
    process.exit(1);
  }
  const server = await serve(dir, port);
  const { port: p } = server.address();
  console.log(`dicom-deid page: http://127.0.0.1:${p}/  (Ctrl-C stops; or open ${path.resolve(dir, "dicom-deid.html")} directly)`);
}
