//! Every HTML page and e-mail body: minijinja templates in `templates/`, compiled into the
//! binary once. Values are HTML-escaped by the template engine (auto-escaping is on for every
//! `.html` template), so no caller escapes by hand.

use std::sync::OnceLock;

use minijinja::Environment;

/// The templates, by the name they are rendered with.
const SOURCES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("form.html", include_str!("../templates/form.html")),
    ("done.html", include_str!("../templates/done.html")),
    ("message.html", include_str!("../templates/message.html")),
    (
        "dashboard.html",
        include_str!("../templates/dashboard.html"),
    ),
    (
        "console/layout.html",
        include_str!("../templates/console/layout.html"),
    ),
    (
        "console/sign_in.html",
        include_str!("../templates/console/sign_in.html"),
    ),
    (
        "console/confirm.html",
        include_str!("../templates/console/confirm.html"),
    ),
    (
        "console/portfolio.html",
        include_str!("../templates/console/portfolio.html"),
    ),
    (
        "console/project.html",
        include_str!("../templates/console/project.html"),
    ),
    (
        "console/link.html",
        include_str!("../templates/console/link.html"),
    ),
    (
        "console/fields.html",
        include_str!("../templates/console/fields.html"),
    ),
    (
        "console/client.html",
        include_str!("../templates/console/client.html"),
    ),
    (
        "console/new_client.html",
        include_str!("../templates/console/new_client.html"),
    ),
    (
        "email/notice.html",
        include_str!("../templates/email/notice.html"),
    ),
    (
        "email/report.html",
        include_str!("../templates/email/report.html"),
    ),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // HTML escaping as minijinja's, but `/` kept as it is: URLs and dates read as
        // written in the page source and in e-mail bodies (with `<`, `>`, `&` and quotes
        // escaped, a `/` cannot end a tag or an attribute).
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == minijinja::AutoEscape::Html
                && !value.is_safe()
                && let Some(text) = value.as_str()
            {
                let escaped = minijinja::HtmlEscape(text).to_string();
                return out
                    .write_str(&escaped.replace("&#x2f;", "/"))
                    .map_err(minijinja::Error::from);
            }
            minijinja::escape_formatter(out, state, value)
        });
        for &(name, source) in SOURCES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        env
    })
}

/// Renders template `name` (e.g. `"form.html"`) with `ctx`.
///
/// # Errors
/// The template is unknown or fails to render (a bug; the test below renders every one).
pub fn render(name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
    environment().get_template(name)?.render(ctx)
}

/// The HTML body of a plain-text e-mail notice: one paragraph, its line breaks kept.
///
/// A notice's text is the message; if the template fails the text alone is sent as HTML
/// (escaped), so a notice is never lost to a template bug.
pub fn notice_html(text: &str) -> String {
    render(
        "email/notice.html",
        minijinja::context! { lines => text.split('\n').collect::<Vec<_>>() },
    )
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "the notice template failed");
        minijinja::HtmlEscape(text).to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for &(name, _) in SOURCES {
            assert!(
                environment().get_template(name).is_ok(),
                "{name} does not compile"
            );
        }
    }

    #[test]
    fn a_notice_is_escaped_and_keeps_its_lines() {
        let html = notice_html("ROI < 0 & \"falling\"\nsecond line");
        assert!(html.contains("ROI &lt; 0 &amp; &quot;falling&quot;<br>second line"));
        assert!(html.starts_with("<!doctype html>"));
        let url = render(
            "message.html",
            minijinja::context! { title => "t", text => "https://x.test/r/a?b=1&c=\"2\"" },
        )
        .unwrap();
        assert!(
            url.contains("https://x.test/r/a?b=1&amp;c=&quot;2&quot;"),
            "{url}"
        );
    }
}
