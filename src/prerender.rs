//! The site's prerendered pages, rendered on the host (feature `ssr`) by the same components the
//! browser hydrates: `/` and every `/product/{uuid}` from a catalogue known at build time, each
//! page with its own title, description, canonical URL, Open Graph tags and (products) schema.org
//! `Product` JSON-LD; plus `sitemap.xml` and `robots.txt`. `src/bin/prerender.rs` writes them into
//! Trunk's `dist/`, which `cargo xtask build` runs.
//!
//! Each page is Trunk's shell (`dist/index.html`, which keeps its hashed script and styles) with
//! the rendered app as its `<body>`, the body marked with the path it was rendered for and the
//! catalogue embedded as JSON (see [`crate::prerendered`]). The routes that belong to one shopper
//! (cart, account, checkout, orders, status) mount into the shell, which gets the catalogue too.

use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;
use unishop_model::Product;

use crate::api::Api;
use crate::app::App;
use crate::prerendered::{CATALOGUE_SCRIPT_ID, PATH_ATTRIBUTE};
use crate::router::{page_title, PageUrl};

/// The currency of every price in the catalogue (`priceCents` are US cents).
pub const CURRENCY: &str = "USD";

/// The shell: Trunk's page, which the routes of one shopper mount into.
pub const SHELL_FILE: &str = "index.html";

/// The file of `dist/` the catalogue page `/` is written to (`index.html` stays the shell).
pub const CATALOGUE_FILE: &str = "catalogue.html";

/// The file of `dist/` product `uuid`'s page is written to.
pub fn product_file(uuid: uuid::Uuid) -> String {
    format!("product/{uuid}.html")
}

/// Why the pages could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PrerenderError {
    #[error("the shell page (Trunk's index.html) has no {0}")]
    Shell(&'static str),
    #[error("the site URL {0:?} is not an absolute http(s) URL")]
    SiteUrl(String),
    #[error("the catalogue could not be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// One file to write into `dist/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative to `dist/`, with `/` between folders (`product/{uuid}.html`).
    pub path: String,
    pub contents: String,
}

/// Every prerendered file of the site: the catalogue page, one page per product, `sitemap.xml`
/// and `robots.txt`. `shell` is Trunk's `index.html`; `site_url` the site's origin (and path
/// prefix, if any) that canonical URLs, Open Graph and the sitemap name.
pub fn site(
    shell: &str,
    catalogue: &[Product],
    site_url: &str,
) -> Result<Vec<File>, PrerenderError> {
    let site_url = site_url.trim_end_matches('/');
    if !(site_url.starts_with("https://") || site_url.starts_with("http://")) {
        return Err(PrerenderError::SiteUrl(site_url.to_owned()));
    }
    // A shell that carries a catalogue already (prerendered before) is read without it.
    let trunk_shell = without_catalogue(shell);
    // `<` is escaped so that no product text can end the script element early.
    let catalogue_json = serde_json::to_string(catalogue)?.replace('<', "\\u003c");
    let mut files = Vec::with_capacity(catalogue.len() + 4);
    files.push(File {
        path: SHELL_FILE.to_owned(),
        contents: with_catalogue(&trunk_shell, &catalogue_json)?,
    });
    let shell = Shell::parse(&trunk_shell)?;

    let home = format!("{site_url}/");
    let catalogue_head = Head {
        title: page_title(""),
        description: shell.description.clone(),
        canonical: home.clone(),
        og_type: "website",
        image: catalogue
            .iter()
            .find_map(|p| p.image.as_deref())
            .map(|image| absolute(site_url, image)),
        price: None,
        json_ld: None,
    };
    files.push(File {
        path: CATALOGUE_FILE.to_owned(),
        contents: shell.page(
            "/",
            &catalogue_head,
            &catalogue_json,
            &render("/", catalogue),
        ),
    });

    let mut sitemap_urls = vec![home];
    for product in catalogue {
        let path = format!("/product/{}", product.uuid);
        let canonical = format!("{site_url}{path}");
        let head = Head {
            title: page_title(&product.name),
            description: product
                .description
                .clone()
                .unwrap_or_else(|| product.name.clone()),
            canonical: canonical.clone(),
            og_type: "product",
            image: product.image.as_deref().map(|i| absolute(site_url, i)),
            price: Some(price_amount(product.cents())),
            json_ld: Some(product_json_ld(product, site_url, &canonical)?),
        };
        files.push(File {
            path: product_file(product.uuid),
            contents: shell.page(&path, &head, &catalogue_json, &render(&path, catalogue)),
        });
        sitemap_urls.push(canonical);
    }

    files.push(File {
        path: "sitemap.xml".to_owned(),
        contents: sitemap(&sitemap_urls),
    });
    files.push(File {
        path: "robots.txt".to_owned(),
        contents: robots(site_url),
    });
    Ok(files)
}

/// The app's HTML at `path`, as the browser hydrates it: rendered from `catalogue`, in the state
/// every shopper first gets (see [`crate::settled`]).
pub fn render(path: &str, catalogue: &[Product]) -> String {
    let owner = Owner::new();
    let html = owner.with(|| {
        let api = Api::with_prerendered(catalogue.to_vec());
        let page_url = PageUrl::at(path);
        view! { <App api page_url for_hydration=true /> }.to_html()
    });
    owner.cleanup();
    html
}

/// What a page's `<head>` says about it.
struct Head {
    title: String,
    description: String,
    canonical: String,
    og_type: &'static str,
    image: Option<String>,
    /// The price as Open Graph's `product:price:amount` (`49.99`), for a product.
    price: Option<String>,
    json_ld: Option<String>,
}

/// Trunk's `index.html`, cut where each page differs.
struct Shell {
    /// Up to `<title>`.
    before_title: String,
    /// From after `</title>` up to `</head>`, the shell's description taken out.
    head_rest: String,
    /// `</head>` up to the body's contents, the `<body` tag's own attributes kept.
    body_open_attributes: String,
    /// The elements Trunk put in the body (scripts), after the app.
    body_scripts: String,
    /// From `</body>` to the end.
    after_body: String,
    description: String,
}

const DESCRIPTION_TAG: &str = "<meta name=\"description\" content=\"";

impl Shell {
    fn parse(html: &str) -> Result<Self, PrerenderError> {
        let (before_title, rest) = html
            .split_once("<title>")
            .ok_or(PrerenderError::Shell("<title>"))?;
        let (_, rest) = rest
            .split_once("</title>")
            .ok_or(PrerenderError::Shell("</title>"))?;
        let (head, rest) = rest
            .split_once("</head>")
            .ok_or(PrerenderError::Shell("</head>"))?;
        let (_, rest) = rest
            .split_once("<body")
            .ok_or(PrerenderError::Shell("<body>"))?;
        let (body_open_attributes, rest) = rest
            .split_once('>')
            .ok_or(PrerenderError::Shell("<body>"))?;
        let (body, after_body) = rest
            .rsplit_once("</body>")
            .ok_or(PrerenderError::Shell("</body>"))?;

        // The shell's description moves into each page's own head (before_title may hold it too).
        let (before_title, head, description) = match take_description(before_title) {
            Some((before, description)) => (before, head.to_owned(), description),
            None => {
                let (head, description) =
                    take_description(head).ok_or(PrerenderError::Shell("meta description"))?;
                (before_title.to_owned(), head, description)
            }
        };
        Ok(Shell {
            before_title,
            head_rest: head,
            body_open_attributes: body_open_attributes.to_owned(),
            body_scripts: scripts_of(body),
            after_body: format!("</body>{after_body}"),
            description,
        })
    }

    fn page(&self, path: &str, head: &Head, catalogue_json: &str, app: &str) -> String {
        let mut tags = format!(
            "<meta name=\"description\" content=\"{description}\" />\
             <link rel=\"canonical\" href=\"{canonical}\" />\
             <meta property=\"og:site_name\" content=\"{site}\" />\
             <meta property=\"og:type\" content=\"{og_type}\" />\
             <meta property=\"og:title\" content=\"{title}\" />\
             <meta property=\"og:description\" content=\"{description}\" />\
             <meta property=\"og:url\" content=\"{canonical}\" />",
            description = escape(&head.description),
            canonical = escape(&head.canonical),
            site = escape(&page_title("")),
            og_type = head.og_type,
            title = escape(&head.title),
        );
        if let Some(image) = &head.image {
            tags.push_str(&format!(
                "<meta property=\"og:image\" content=\"{}\" />",
                escape(image)
            ));
        }
        if let Some(price) = &head.price {
            tags.push_str(&format!(
                "<meta property=\"product:price:amount\" content=\"{price}\" />\
                 <meta property=\"product:price:currency\" content=\"{CURRENCY}\" />"
            ));
        }
        if let Some(json_ld) = &head.json_ld {
            tags.push_str(&format!(
                "<script type=\"application/ld+json\">{json_ld}</script>"
            ));
        }
        tags.push_str(&catalogue_script(catalogue_json));
        // The app is the body's first child, with nothing around it: hydration walks the body's
        // nodes from the first.
        format!(
            "{before}<title>{title}</title>{tags}{head_rest}</head>\n  <body{attributes} {PATH_ATTRIBUTE}=\"{path}\">{app}{scripts}{after}",
            before = self.before_title,
            title = escape(&head.title),
            head_rest = self.head_rest,
            attributes = self.body_open_attributes,
            path = escape(path),
            scripts = self.body_scripts,
            after = self.after_body,
        )
    }
}

/// The catalogue's `<script>` element, as every page and the shell carry it.
fn catalogue_script(catalogue_json: &str) -> String {
    format!(
        "<script type=\"application/json\" id=\"{CATALOGUE_SCRIPT_ID}\">{catalogue_json}</script>"
    )
}

/// The shell carrying the catalogue, for the routes of one shopper (a guest's cart shows its
/// products from it while the API is down).
fn with_catalogue(shell: &str, catalogue_json: &str) -> Result<String, PrerenderError> {
    let (head, rest) = shell
        .split_once("</head>")
        .ok_or(PrerenderError::Shell("</head>"))?;
    Ok(format!(
        "{head}{}</head>{rest}",
        catalogue_script(catalogue_json)
    ))
}

/// `shell` without a catalogue `<script>` that an earlier run of the prerenderer put in.
fn without_catalogue(shell: &str) -> String {
    let opening = catalogue_script("");
    let opening = opening.trim_end_matches("</script>");
    match shell.split_once(opening) {
        Some((before, rest)) => match rest.split_once("</script>") {
            Some((_, after)) => format!("{before}{after}"),
            None => shell.to_owned(),
        },
        None => shell.to_owned(),
    }
}

/// `html` without its `<meta name="description">`, and that description (entities kept).
fn take_description(html: &str) -> Option<(String, String)> {
    let start = html.find(DESCRIPTION_TAG)?;
    let content_start = start + DESCRIPTION_TAG.len();
    let content_len = html[content_start..].find('"')?;
    let description = unescape(&html[content_start..content_start + content_len]);
    let tag_end = content_start + content_len + html[content_start + content_len..].find('>')? + 1;
    // The line the tag was on goes with it.
    let line_start = html[..start].trim_end_matches([' ', '\t']).len();
    let mut rest = html[..line_start].to_owned();
    rest.push_str(
        html[tag_end..]
            .trim_start_matches([' ', '\t'])
            .trim_start_matches('\n'),
    );
    Some((rest, description))
}

/// The `<script>` elements of the shell's body (Trunk may put its loader there); the rest of it
/// (the `<noscript>` notice) is not wanted in a page that works without scripts.
fn scripts_of(body: &str) -> String {
    let mut scripts = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("<script") {
        let Some(len) = rest[start..].find("</script>") else {
            break;
        };
        let end = start + len + "</script>".len();
        scripts.push_str(&rest[start..end]);
        rest = &rest[end..];
    }
    scripts
}

/// `path` (`/images/x.svg`) on the site, or `path` itself when it is absolute already.
fn absolute(site_url: &str, path: &str) -> String {
    if path.starts_with("https://") || path.starts_with("http://") {
        path.to_owned()
    } else {
        format!("{site_url}/{}", path.trim_start_matches('/'))
    }
}

/// Cents as a decimal amount of dollars: `4999` -> `49.99` (schema.org and Open Graph prices).
fn price_amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The schema.org `Product` of a product page, as JSON-LD ready for a `<script>` element.
fn product_json_ld(
    product: &Product,
    site_url: &str,
    canonical: &str,
) -> Result<String, serde_json::Error> {
    let mut ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "@id": canonical,
        "name": product.name,
        "sku": product.uuid.to_string(),
        "url": canonical,
        "offers": {
            "@type": "Offer",
            "price": price_amount(product.cents()),
            "priceCurrency": CURRENCY,
            "availability": "https://schema.org/InStock",
            "url": canonical,
        },
    });
    if let Some(description) = &product.description {
        ld["description"] = description.clone().into();
    }
    if let Some(image) = &product.image {
        ld["image"] = absolute(site_url, image).into();
    }
    if let Some(category) = &product.category {
        ld["category"] = category.clone().into();
    }
    Ok(serde_json::to_string(&ld)?.replace('<', "\\u003c"))
}

fn sitemap(urls: &[String]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for url in urls {
        xml.push_str(&format!("  <url><loc>{}</loc></url>\n", escape(url)));
    }
    xml.push_str("</urlset>\n");
    xml
}

/// Everything may be crawled but the pages that belong to one shopper and the APIs.
fn robots(site_url: &str) -> String {
    let mut text = String::from("User-agent: *\n");
    for path in [
        "/api/",
        "/api-standby/",
        "/cart",
        "/checkout/",
        "/orders",
        "/login",
        "/signup",
        "/status",
    ] {
        text.push_str(&format!("Disallow: {path}\n"));
    }
    text.push_str(&format!("\nSitemap: {site_url}/sitemap.xml\n"));
    text
}

/// Text for HTML (element content and quoted attribute values).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The few entities [`escape`] writes, read back (the shell's own description).
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use unishop_model::seed::CATALOGUE;

    const SHELL: &str = r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="description" content="The Unicorn Shop: unicorn floats &amp; more." />
    <title>The Unicorn Shop</title>
    <link rel="stylesheet" href="/main-abc.css" />
    <script type="module">import init from '/unishop-abc.js'; init('/unishop-abc_bg.wasm');</script>
  </head>
  <body>
    <noscript>The Unicorn Shop needs JavaScript and WebAssembly to run.</noscript>
  <script>console.log("trunk")</script></body>
</html>
"#;

    fn catalogue() -> Vec<Product> {
        CATALOGUE.iter().map(|seed| seed.to_product()).collect()
    }

    /// The file at `path`, without the hydration markers (`<!>`), which depend on how the crate
    /// is built (the wasm's `--cfg erase_components` adds some).
    fn page(files: &[File], path: &str) -> String {
        files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
            .contents
            .replace("<!>", "")
    }

    #[test]
    fn writes_the_catalogue_every_product_a_sitemap_and_robots() {
        let catalogue = catalogue();
        let files = site(SHELL, &catalogue, "https://shop.example/").expect("rendered");
        assert_eq!(files.len(), catalogue.len() + 4);
        let sitemap = page(&files, "sitemap.xml");
        assert!(sitemap.contains("<loc>https://shop.example/</loc>"));
        for product in &catalogue {
            let html = page(&files, &product_file(product.uuid));
            assert!(sitemap.contains(&format!(
                "<loc>https://shop.example/product/{}</loc>",
                product.uuid
            )));
            let heading = format!("class=\"page-title\">{}</h1>", product.name);
            assert!(html.contains(&heading), "{heading} in {html}");
        }
        let robots = page(&files, "robots.txt");
        assert!(robots.contains("Disallow: /cart\n"));
        assert!(robots.contains("Sitemap: https://shop.example/sitemap.xml\n"));
    }

    #[test]
    fn a_product_page_says_what_it_sells_to_search_engines_and_link_previews() {
        let catalogue = catalogue();
        let files = site(SHELL, &catalogue, "https://shop.example").expect("rendered");
        let float = &catalogue[0];
        let html = page(&files, &product_file(float.uuid));
        let canonical = format!("https://shop.example/product/{}", float.uuid);
        assert!(html.contains("<title>Rainbow Unicorn Pool Float · The Unicorn Shop</title>"));
        assert_eq!(html.matches("<title>").count(), 1);
        assert_eq!(html.matches("name=\"description\"").count(), 1);
        assert!(html.contains("<meta name=\"description\" content=\"A giant inflatable unicorn"));
        assert!(html.contains(&format!("<link rel=\"canonical\" href=\"{canonical}\" />")));
        assert!(html.contains("<meta property=\"og:title\" content=\"Rainbow Unicorn Pool Float · The Unicorn Shop\" />"));
        assert!(html.contains(
            "<meta property=\"og:image\" content=\"https://shop.example/images/pool-float.svg\" />"
        ));
        assert!(html.contains("<meta property=\"product:price:amount\" content=\"49.99\" />"));
        assert!(html.contains("<meta property=\"product:price:currency\" content=\"USD\" />"));

        let marker = "<script type=\"application/ld+json\">";
        let start = html.find(marker).expect("JSON-LD") + marker.len();
        let end = start + html[start..].find("</script>").expect("end of JSON-LD");
        let ld: serde_json::Value = serde_json::from_str(&html[start..end]).expect("JSON");
        assert_eq!(ld["@type"], "Product");
        assert_eq!(ld["name"], "Rainbow Unicorn Pool Float");
        assert_eq!(ld["offers"]["price"], "49.99");
        assert_eq!(ld["offers"]["priceCurrency"], "USD");
        assert_eq!(ld["url"], canonical.as_str());
    }

    #[test]
    fn the_body_is_the_app_alone_marked_with_its_path_and_the_shells_scripts_follow() {
        let catalogue = catalogue();
        let files = site(SHELL, &catalogue, "https://shop.example").expect("rendered");
        let home = page(&files, CATALOGUE_FILE);
        let body_start = home.find("<body").expect("body");
        let body = &home[body_start..];
        assert!(
            body.starts_with("<body data-prerendered=\"/\"><a href=\"#main\" class=\"skip-link\""),
            "{body}"
        );
        assert!(!home.contains("<noscript>"));
        assert!(body.contains("</footer><script>console.log(\"trunk\")</script></body>"));
        // Every product card is in the HTML, and the catalogue the page hydrates from.
        assert_eq!(
            body.matches("data-testid=\"product-card\"").count(),
            catalogue.len()
        );
        assert!(home.contains("<script type=\"module\">import init"));
        let marker = "id=\"unishop-catalogue\">";
        let start = home.find(marker).expect("catalogue") + marker.len();
        let end = start + home[start..].find("</script>").expect("end");
        let embedded: Vec<Product> = serde_json::from_str(&home[start..end]).expect("JSON");
        assert_eq!(embedded, catalogue);
        // The shell's description, entities and all, is the catalogue's.
        assert!(home.contains("content=\"The Unicorn Shop: unicorn floats &amp; more.\""));
    }

    #[test]
    fn the_shell_carries_the_catalogue_once_however_often_the_site_is_prerendered() {
        let catalogue = catalogue();
        let files = site(SHELL, &catalogue, "https://shop.example").expect("rendered");
        let shell = page(&files, SHELL_FILE);
        assert_eq!(shell.matches("id=\"unishop-catalogue\"").count(), 1);
        assert!(
            !shell.contains("data-prerendered"),
            "the shell mounts, never hydrates"
        );
        assert!(shell.contains("<noscript>"));

        let again = site(&shell, &catalogue, "https://shop.example").expect("rendered");
        assert_eq!(page(&again, SHELL_FILE), shell);
        let home = page(&again, CATALOGUE_FILE);
        assert_eq!(home.matches("id=\"unishop-catalogue\"").count(), 1);
        assert_eq!(home, page(&files, CATALOGUE_FILE));
    }

    #[test]
    fn product_text_cannot_break_out_of_the_markup() {
        let mut catalogue = catalogue();
        catalogue[0].name = "Evil </script><script>alert(1)</script> \"float\"".to_owned();
        let files = site(SHELL, &catalogue, "https://shop.example").expect("rendered");
        let html = page(&files, &product_file(catalogue[0].uuid));
        assert!(!html.contains("<script>alert(1)"), "{html}");
    }

    #[test]
    fn refuses_a_relative_site_url_and_a_shell_without_a_body() {
        assert!(matches!(
            site(SHELL, &catalogue(), "shop.example"),
            Err(PrerenderError::SiteUrl(_))
        ));
        assert!(matches!(
            site(
                "<title>x</title></head>",
                &catalogue(),
                "https://shop.example"
            ),
            Err(PrerenderError::Shell(_))
        ));
    }

    #[test]
    fn prices_are_decimal_dollars() {
        assert_eq!(price_amount(4_999), "49.99");
        assert_eq!(price_amount(5), "0.05");
        assert_eq!(price_amount(-250), "-2.50");
    }
}
