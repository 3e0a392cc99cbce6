/** True where the engine validates relaxed SIMD (Chromium 114+, Node 22+). */
export function hasRelaxedSimd(): boolean;
/** The URL of the faster core build this engine runs (relaxed SIMD where it validates). */
export function coreUrl(): URL;
