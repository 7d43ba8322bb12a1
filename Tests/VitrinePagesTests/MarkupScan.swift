// A small scanner of the pages' markup, for the tests: every tag and attribute the page holds,
// read the way an HTML tokenizer reads them (a "<" followed by a letter or "/" opens a tag).
// The pages are built from a fixed set of tags and attributes; anything else in a page came
// from data that escaping failed to neutralise.

import Foundation

struct MarkupScan {
    struct Tag { var name: String; var attributes: [(name: String, value: String)] }
    var tags: [Tag] = []

    init(_ html: String) {
        let s = Array(html.unicodeScalars)
        var i = 0
        func isNameChar(_ c: Unicode.Scalar) -> Bool { CharacterSet.alphanumerics.contains(c) || c == "-" || c == "!" }
        while i < s.count {
            guard s[i] == "<", i + 1 < s.count else { i += 1; continue }
            var j = i + 1
            if s[j] == "/" { j += 1 }
            guard j < s.count, CharacterSet.letters.contains(s[j]) || s[j] == "!" else { i += 1; continue }
            var name = ""
            while j < s.count, isNameChar(s[j]) { name.unicodeScalars.append(s[j]); j += 1 }
            var attributes: [(String, String)] = []
            while j < s.count, s[j] != ">" {
                if s[j] == " " || s[j] == "\n" || s[j] == "/" || s[j] == "\t" { j += 1; continue }
                var attr = ""
                while j < s.count, s[j] != "=", s[j] != " ", s[j] != ">", s[j] != "\n" { attr.unicodeScalars.append(s[j]); j += 1 }
                var value = ""
                if j < s.count, s[j] == "=" {
                    j += 1
                    if j < s.count, s[j] == "\"" || s[j] == "'" {
                        let quote = s[j]
                        j += 1
                        while j < s.count, s[j] != quote { value.unicodeScalars.append(s[j]); j += 1 }
                        j += 1
                    } else {
                        while j < s.count, s[j] != " ", s[j] != ">" { value.unicodeScalars.append(s[j]); j += 1 }
                    }
                }
                attributes.append((attr.lowercased(), value))
            }
            tags.append(Tag(name: name.lowercased(), attributes: attributes))
            i = j + 1
        }
    }

    static let allowedTags: Set<String> = [
        "!doctype", "html", "head", "meta", "link", "title", "style", "body", "header", "main", "footer", "a", "h1", "h2", "h3",
        "p", "span", "code", "ol", "ul", "li", "div", "section", "table", "tr", "th", "td",
    ]
    static let allowedAttributes: Set<String> = ["html", "lang", "charset", "name", "content", "http-equiv", "rel", "href", "class"]

    /// Tags and attributes outside the fixed sets the renderers write, or an `on*` handler.
    var foreignMarkup: [String] {
        var found: [String] = []
        for tag in tags {
            let name = tag.name.hasPrefix("/") ? String(tag.name.dropFirst()) : tag.name
            if !Self.allowedTags.contains(name) { found.append("<\(tag.name)>") }
            for a in tag.attributes where !Self.allowedAttributes.contains(a.name) || a.name.hasPrefix("on") {
                found.append("\(a.name)= in <\(tag.name)>")
            }
        }
        return found
    }

    /// Every href value, as written (entities not decoded: the pages write none in hrefs but &amp;).
    var hrefs: [String] { tags.flatMap { $0.attributes.filter { $0.name == "href" }.map(\.value) } }
}
