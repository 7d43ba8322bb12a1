// Where each page lives in the output directory, and the relative links between pages.
//
//   index.html                 every page written, by kind
//   showcase/<name>.html       an expert's showcase            (name: PageFileName of the expert id)
//   product/<name>.html        a product                       (of the product id)
//   cart/<name>.html           a user's cart                   (of the user id)
//   order/<name>.html          an order's intermediate page    (of the order id)
//   .index-parts/              the index's entries while the pages are written (removed after)
//   .vitrine-pages             marker: the directory holds pages this tool wrote, so a later run
//                              may replace them (it never clears a directory without it)
//
// Links between pages are relative, so the site works from file:// and from any web path.

/// The kinds of page, each in its own directory.
public enum PageKind: String, CaseIterable, Sendable {
    /// An expert's showcase.
    case showcase
    /// A product.
    case product
    /// A user's cart.
    case cart
    /// An order's intermediate page.
    case order
}

enum SiteLayout {
    static let marker = ".vitrine-pages"
    static let index = "index.html"

    /// The href of the page of `id` from a page at `root` ("" for the index, "../" elsewhere);
    /// nil when the id has no file name.
    static func href(_ kind: PageKind, _ id: String, root: String) -> String? {
        PageFileName.forID(id).map { root + kind.rawValue + "/" + HTML.pathSegment($0) }
    }

    /// A link to the page of `id` with `label` (plain text), or the label alone when the id has no page.
    static func link(_ kind: PageKind, _ id: String, label: String, root: String = "../") -> String {
        guard let href = href(kind, id, root: root) else { return HTML.text(label) }
        return "<a href=\"\(HTML.attribute(href))\">\(HTML.text(label))</a>"
    }
}
