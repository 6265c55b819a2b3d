/// One page of a newest-first list the store reads as "the newest N" (purchases, the ledger): the caller reads
/// `readLimit` rows (one more than the pages so far, to know whether an older page exists) and gets the page's
/// rows and its Newer / Older links.
struct PagedRows<Row> {
    let page: Int
    let perPage: Int

    var readLimit: Int { page * perPage + 1 }

    /// The page's rows out of the `readLimit` newest.
    func rows(of read: [Row]) -> ArraySlice<Row> {
        read.dropFirst((page - 1) * perPage).prefix(perPage)
    }

    /// Template values `<name>Page`, `newer<Name>` and `older<Name>`: links to `base?<parameter>=N#<anchor>`.
    func links(read: [Row], name: String, base: String, parameter: String, anchor: String) -> [String: Any] {
        let capitalised = name.prefix(1).uppercased() + name.dropFirst()
        var values: [String: Any] = ["\(name)Page": String(page)]
        if page > 1 { values["newer\(capitalised)"] = "\(base)?\(parameter)=\(page - 1)#\(anchor)" }
        if read.count > page * perPage, page < BillingQuery.maximumPage {
            values["older\(capitalised)"] = "\(base)?\(parameter)=\(page + 1)#\(anchor)"
        }
        return values
    }
}
