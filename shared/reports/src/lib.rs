//! Report rendering (issue 6): typst templates (in `templates/`, compiled into the binary)
//! fed the report data as JSON through `sys.inputs`, SVG charts drawn with plotters, and
//! the CSV and XLSX exports of the same figures.
//!
//! User text reaches typst only as data: the templates read `sys.inputs.data` with
//! `json(...)` and insert its strings as values, so a client called `#panic()` is printed,
//! not run. Only the fonts the templates use are embedded (Inter, four styles, about
//! 1 MB), loaded once per process.

pub use roi_charts as charts;
pub mod exports;

use std::sync::{Arc, OnceLock};

use roi_domain::report::{RenderError, Rendered, Renderer, ReportData, ReportKind, ReportMeta};
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Dict, IntoValue, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// The templates, by file name.
const TEMPLATES: [(&str, &str); 6] = [
    ("lib.typ", include_str!("../templates/lib.typ")),
    ("weekly.typ", include_str!("../templates/weekly.typ")),
    ("monthly.typ", include_str!("../templates/monthly.typ")),
    ("quarterly.typ", include_str!("../templates/quarterly.typ")),
    ("annual.typ", include_str!("../templates/annual.typ")),
    ("executive.typ", include_str!("../templates/executive.typ")),
];

/// The embedded fonts (SIL Open Font License 1.1, `fonts/LICENSE-OFL.txt`).
const FONTS: [&[u8]; 4] = [
    include_bytes!("../fonts/Inter-Regular.otf"),
    include_bytes!("../fonts/Inter-Italic.otf"),
    include_bytes!("../fonts/Inter-SemiBold.otf"),
    include_bytes!("../fonts/Inter-Bold.otf"),
];

/// What every render shares: fonts, their book and the parsed templates.
struct Assets {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    sources: Vec<Source>,
}

fn file_id(name: &str) -> FileId {
    let path = VirtualPath::new(format!("/{name}"))
        .unwrap_or_else(|_| unreachable!("template names are plain file names"));
    FileId::new(RootedPath::new(VirtualRoot::Project, path))
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let fonts: Vec<Font> = FONTS
            .iter()
            .flat_map(|b| Font::iter(Bytes::new(*b)))
            .collect();
        let book = FontBook::from_fonts(&fonts);
        let sources = TEMPLATES
            .iter()
            .map(|(name, text)| Source::new(file_id(name), (*text).to_owned()))
            .collect();
        Assets {
            book: LazyHash::new(book),
            fonts,
            sources,
        }
    })
}

/// One compilation: the shared assets, a library carrying this report's inputs, and the
/// kind's template as the main file.
struct ReportWorld {
    assets: &'static Assets,
    library: LazyHash<Library>,
    main: FileId,
    today: Option<Datetime>,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.assets.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.assets
            .sources
            .iter()
            .find(|s| s.id() == id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().get_without_slash().into()))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.source(id)
            .map(|s| Bytes::from_string(s.text().to_owned()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.assets.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}

fn template_of(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Weekly => "weekly.typ",
        ReportKind::Monthly => "monthly.typ",
        ReportKind::Quarterly => "quarterly.typ",
        ReportKind::Annual => "annual.typ",
        ReportKind::Executive => "executive.typ",
    }
}

fn diagnostics(errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| e.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The charts a report of `data.kind` shows, as SVG, by name (`metrics`, `roi`, `cost`,
/// `sensitivity`, `departments`); a chart without data is left out and the template skips it.
pub fn charts_for(data: &ReportData) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(svg) = charts::metrics(&data.metrics) {
        out.push(("metrics", svg));
    }
    if let Some(svg) = charts::roi_over_time(&data.roi_history) {
        out.push(("roi", svg));
    }
    if let Some(svg) = charts::cost_trend(&data.daily_cost, &data.forecast_band) {
        out.push(("cost", svg));
    }
    if let Some(roi) = &data.roi
        && let Some(svg) = charts::sensitivity(&roi.sensitivity, roi.roi_percentage)
    {
        out.push(("sensitivity", svg));
    }
    if let Some(u) = &data.usage
        && let Some(svg) = charts::by_department(&u.by_department)
    {
        out.push(("departments", svg));
    }
    out
}

/// Renders a report to PDF with typst; fonts and templates are loaded on the first call of
/// the process and shared after.
///
/// # Errors
/// [`RenderError`] with typst's messages (a template fault, never the data's).
pub fn pdf(data: &ReportData, meta: &ReportMeta) -> Result<Vec<u8>, RenderError> {
    let mut charts = Dict::new();
    for (name, svg) in charts_for(data) {
        charts.insert(name.into(), Bytes::from_string(svg).into_value());
    }
    let mut inputs = Dict::new();
    inputs.insert("data".into(), json(data)?.into_value());
    inputs.insert("meta".into(), json(meta)?.into_value());
    inputs.insert("charts".into(), charts.into_value());
    let issued = meta.issued_at.date_naive();
    let (year, month, day) = (
        chrono::Datelike::year(&issued),
        u8::try_from(chrono::Datelike::month(&issued)).unwrap_or(1),
        u8::try_from(chrono::Datelike::day(&issued)).unwrap_or(1),
    );
    let world = ReportWorld {
        assets: assets(),
        library: LazyHash::new(Library::builder().with_inputs(inputs).build()),
        main: file_id(template_of(data.kind)),
        today: Datetime::from_ymd(year, month, day),
    };
    let document: PagedDocument = typst::compile(&world)
        .output
        .map_err(|e| RenderError(diagnostics(&e)))?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(format!(
            "{}/{}/{}/v{}",
            data.project_id, data.kind, data.period.label, meta.version
        )),
        timestamp: Some(typst_pdf::Timestamp::new_utc(
            Datetime::from_ymd_hms(year, month, day, 0, 0, 0)
                .ok_or_else(|| RenderError("issue date out of range".into()))?,
        )),
        ..Default::default()
    };
    let bytes = typst_pdf::pdf(&document, &options).map_err(|e| RenderError(diagnostics(&e)))?;
    // Bound typst's memoization cache: a long-lived process renders many reports.
    typst::comemo::evict(10);
    Ok(bytes)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, RenderError> {
    serde_json::to_string(value).map_err(|e| RenderError(e.to_string()))
}

/// The [`Renderer`] of reports: PDF by typst, CSV and XLSX by [`exports`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TypstRenderer;

impl TypstRenderer {
    /// The renderer, shared.
    pub fn shared() -> Arc<dyn Renderer> {
        Arc::new(Self)
    }
}

impl Renderer for TypstRenderer {
    fn render(&self, data: &ReportData, meta: &ReportMeta) -> Result<Rendered, RenderError> {
        Ok(Rendered {
            pdf: pdf(data, meta)?,
            csv: exports::csv(data, meta)?,
            xlsx: exports::xlsx(data, meta)?,
        })
    }
}
