extension URLText {
    /// `text` with the user information of every URL in it hidden: `http://user:pw@host/x`
    /// becomes `http://user:***@host/x`, and `https://TOKEN@host/x` (a name alone, which is
    /// often a token) `https://***@host/x`. Everything a URL is shown or logged through
    /// passes here; the URL itself, credentials and all, is what is fetched.
    ///
    /// `text` may be a URL, a log line, an error message or a whole JSON line: a URL's
    /// authority is what follows `://` up to `/`, `?`, `#`, a blank, `"`, `<`, `>` or
    /// a backslash, and its user information is the authority up to the last `@` (libcurl's
    /// reading). Text without such a URL comes back unchanged.
    public static func redactingCredentials(_ text: String) -> String {
        let found = credentialSpans(in: text)
        guard !found.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var copied = 0
        for span in found {
            out += bytes[copied..<span.start]
            if let colon = span.colon {
                out += bytes[span.start...colon]
            }
            out += "***".utf8
            copied = span.end
        }
        out += bytes[copied...]
        return String(decoding: out, as: UTF8.self)
    }

    /// Each URL origin in `text` that carries user information, as shown
    /// (`scheme://user:***@host:port`) and as written. The daemon uses it to take a URL a
    /// client got redacted (the menu's edit form sends the kernel back) to the real one.
    public static func credentialedOrigins(in text: String) -> [(shown: String, real: String)] {
        let bytes = Array(text.utf8)
        return credentialSpans(in: text).map { span in
            let real = String(decoding: bytes[span.origin..<span.authorityEnd], as: UTF8.self)
            return (redactingCredentials(real), real)
        }
    }

    /// `text` with each URL origin that is the `shown` of one of `origins` (all of it: the
    /// scheme and the whole authority) put back as its `real`. An origin that only starts
    /// like one (`http://u:***@host.example` for `http://u:***@host`) is left as it is.
    public static func restoringCredentials(in text: String, from origins: [(shown: String, real: String)]) -> String {
        let found = credentialSpans(in: text)
        guard !found.isEmpty, !origins.isEmpty else { return text }
        var map: [String: String] = [:]
        for (shown, real) in origins where map[shown] == nil { map[shown] = real }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var copied = 0
        for span in found {
            let written = String(decoding: bytes[span.origin..<span.authorityEnd], as: UTF8.self)
            guard let real = map[written] else { continue }
            out += bytes[copied..<span.origin]
            out += real.utf8
            copied = span.authorityEnd
        }
        out += bytes[copied...]
        return String(decoding: out, as: UTF8.self)
    }

    /// Where the user information of each URL in `text` is: `start..<end` (the `@` not
    /// included), the `:` before a password if there is one, and the URL's scheme start
    /// and authority end.
    private struct Span {
        var origin: Int
        var start: Int
        var end: Int
        var colon: Int?
        var authorityEnd: Int
    }

    private static func credentialSpans(in text: String) -> [Span] {
        // Most text has no "@" at all: no copy then.
        guard text.utf8.contains(UInt8(ascii: "@")) else { return [] }
        let bytes = Array(text.utf8)
        func isSchemeByte(_ c: UInt8) -> Bool {
            let l = c | 0x20
            return (l >= UInt8(ascii: "a") && l <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
        }
        // A quote, backslash or blank ends a URL in a JSON string or a message (none may
        // appear in a URL unencoded); `'` may, in user information.
        let stops: Set<UInt8> = Set("/?#\"\\<> \t\r\n".utf8)
        var spans: [Span] = []
        var i = 0
        while i + 2 < bytes.count {
            guard bytes[i] == UInt8(ascii: ":"), bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/") else {
                i += 1
                continue
            }
            var origin = i
            while origin > 0, isSchemeByte(bytes[origin - 1]) { origin -= 1 }
            let start = i + 3
            var end = start
            var at: Int?
            while end < bytes.count, !stops.contains(bytes[end]) {
                if bytes[end] == UInt8(ascii: "@") { at = end }
                end += 1
            }
            if origin < i, let at {
                let colon = bytes[start..<at].firstIndex(of: UInt8(ascii: ":"))
                spans.append(Span(origin: origin, start: start, end: at, colon: colon, authorityEnd: end))
            }
            i = end
        }
        return spans
    }
}
