//! Private attributes known to carry no identity, kept under Retain Safe Private.
//! The shipped list holds quantitative vendor attributes (scaling, diffusion) in the spirit
//! of PS3.15 Table E.3.10-1; users add their own in `private.safe`.

use super::SafePrivate;

const SHIPPED: &[(&str, &str, &str, &str)] = &[
    ("SIEMENS MR HEADER", "0019", "0A", "NumberOfImagesInMosaic"),
    ("SIEMENS MR HEADER", "0019", "0B", "SliceMeasurementDuration"),
    ("SIEMENS MR HEADER", "0019", "0C", "B_value"),
    ("SIEMENS MR HEADER", "0019", "0D", "DiffusionDirectionality"),
    ("SIEMENS MR HEADER", "0019", "0E", "DiffusionGradientDirection"),
    ("SIEMENS MR HEADER", "0019", "27", "B_matrix"),
    ("SIEMENS MR HEADER", "0019", "28", "BandwidthPerPixelPhaseEncode"),
    ("GEMS_ACQU_01", "0019", "BB", "User data 6 (diffusion direction)"),
    ("GEMS_ACQU_01", "0019", "BC", "User data 7 (diffusion direction)"),
    ("GEMS_ACQU_01", "0019", "BD", "User data 8 (diffusion direction)"),
    ("GEMS_PARM_01", "0043", "39", "Slop_int_6 to 9 (b-value)"),
    ("Philips MR Imaging DD 001", "2005", "0D", "Scale Intercept"),
    ("Philips MR Imaging DD 001", "2005", "0E", "Scale Slope"),
    ("Philips PET Private Group", "7053", "00", "SUV Factor"),
    ("Philips PET Private Group", "7053", "09", "Activity Concentration Scale Factor"),
];

pub fn shipped() -> Vec<SafePrivate> {
    SHIPPED
        .iter()
        .map(|(c, g, e, n)| SafePrivate { creator: c.to_string(), group: g.to_string(), element: e.to_string(), name: n.to_string() })
        .collect()
}

/// (creator, group, element offset) of one entry, validated.
pub fn parse_entry(sp: &SafePrivate) -> Result<(String, u16, u8), String> {
    let group = u16::from_str_radix(sp.group.trim(), 16).map_err(|_| format!("bad group '{}'", sp.group))?;
    if group % 2 == 0 {
        return Err(format!("group {:04X} is not private (odd)", group));
    }
    let e = sp.element.trim();
    let e = if e.len() == 4 { &e[2..] } else { e };
    let element = u8::from_str_radix(e, 16).map_err(|_| format!("bad element offset '{}'", sp.element))?;
    if sp.creator.trim().is_empty() {
        return Err("empty private creator".into());
    }
    Ok((sp.creator.trim().to_string(), group, element))
}
