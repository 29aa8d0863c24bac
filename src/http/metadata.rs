//! `GET /odata/$metadata`: the CSDL rendered at start-up, served from memory. XML unless the
//! client explicitly asks for JSON (`$format=json`, or an Accept header naming JSON and no
//! XML), because Power BI and Excel need XML whatever their Accept header lists. Both documents
//! are also gzip-compressed once, since Power Query always accepts gzip.

use super::{ApiError, AppState};
use crate::odata::csdl::Csdl;
use actix_web::{HttpRequest, HttpResponse, http::header, web, web::Bytes};
use std::io::Write;

/// One representation, plain and gzip-compressed.
#[derive(Debug, Clone)]
pub struct Document {
    plain: Bytes,
    gzip: Bytes,
}

impl Document {
    fn new(text: String) -> Document {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzip = encoder.write_all(text.as_bytes()).and_then(|()| encoder.finish()).expect("compressing in memory");
        Document { plain: Bytes::from(text), gzip: Bytes::from(gzip) }
    }
}

/// Both representations of `$metadata`.
#[derive(Debug, Clone)]
pub struct Documents {
    xml: Document,
    json: Document,
}

impl Documents {
    pub fn new(csdl: Csdl) -> Documents {
        Documents { xml: Document::new(csdl.xml), json: Document::new(csdl.json) }
    }
}

/// The two representations of the metadata document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataFormat {
    Xml,
    Json,
}

pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let options = crate::odata::uri::parse_query(req.query_string())?;
    let format = negotiate(options.format.as_deref(), accept)?;
    let (document, content_type) = match format {
        MetadataFormat::Xml => (&state.metadata.xml, "application/xml"),
        MetadataFormat::Json => (&state.metadata.json, "application/json"),
    };
    let mut response = HttpResponse::Ok();
    response.content_type(content_type).insert_header((header::VARY, "Accept-Encoding"));
    let accept_encoding = req.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    if accepts_gzip(accept_encoding) {
        // Setting Content-Encoding tells the compression middleware to leave the body alone.
        Ok(response.insert_header((header::CONTENT_ENCODING, "gzip")).body(document.gzip.clone()))
    } else {
        Ok(response.body(document.plain.clone()))
    }
}

/// True when `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.unwrap_or("").split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        (coding == "gzip" || coding == "*") && !refused
    })
}

/// Chooses the representation from `$format` first, then from the Accept header.
pub fn negotiate(format: Option<&str>, accept: Option<&str>) -> Result<MetadataFormat, ApiError> {
    if let Some(format) = format {
        let media = format.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        return match media.as_str() {
            "xml" | "application/xml" => Ok(MetadataFormat::Xml),
            "json" | "application/json" => Ok(MetadataFormat::Json),
            _ => Err(ApiError::UnsupportedFormat(format.to_string())),
        };
    }
    let Some(accept) = accept else { return Ok(MetadataFormat::Xml) };
    let media: Vec<String> =
        accept.split(',').map(|item| item.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).collect();
    let wants_xml = media.iter().any(|m| m.contains("xml") || m == "*/*" || m == "application/*");
    let wants_json = media.iter().any(|m| m == "application/json");
    Ok(if wants_json && !wants_xml { MetadataFormat::Json } else { MetadataFormat::Xml })
}

#[cfg(test)]
mod tests {
    use super::{MetadataFormat::*, accepts_gzip, negotiate};

    #[test]
    fn gzip_is_used_when_accepted_and_not_when_refused() {
        assert!(accepts_gzip(Some("gzip, deflate")));
        assert!(accepts_gzip(Some("deflate, GZIP;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("deflate")));
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn power_query_accept_header_gets_xml() {
        let accept = "application/json;odata.metadata=minimal;q=1.0,application/json;odata=minimalmetadata;q=0.9,\
                      application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,application/xml;q=0.7,text/plain;q=0.7";
        assert_eq!(negotiate(None, Some(accept)).ok(), Some(Xml));
    }

    #[test]
    fn json_alone_in_accept_gets_json() {
        assert_eq!(negotiate(None, Some("application/json")).ok(), Some(Json));
        assert_eq!(negotiate(None, Some("application/json, */*")).ok(), Some(Xml));
        assert_eq!(negotiate(None, None).ok(), Some(Xml));
    }

    #[test]
    fn format_wins_over_accept_and_unknown_formats_are_refused() {
        assert_eq!(negotiate(Some("json"), Some("application/xml")).ok(), Some(Json));
        assert_eq!(negotiate(Some("application/json;odata.metadata=full"), None).ok(), Some(Json));
        assert_eq!(negotiate(Some("xml"), Some("application/json")).ok(), Some(Xml));
        assert!(negotiate(Some("atom"), None).is_err());
    }
}
