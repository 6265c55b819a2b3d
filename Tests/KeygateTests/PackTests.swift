import Foundation
import Testing
@testable import KeygateCore

@Suite struct PackTests {
    @Test func builtInPacksLoadWithExactPricesAndDiscounts() throws {
        let packs = try PackLoader.builtIn()
        #expect(packs.packs.map(\.id) == ["starter", "standard", "pro", "scale"])
        #expect(packs.currency == "usd")
        let rows = packs.packs.map { [$0.id, String($0.credits), $0.priceText, $0.discountText, String($0.discountBasisPoints)] }
        #expect(
            rows == [
                ["starter", "1000", "10.00", "0.00", "0"],
                ["standard", "5000", "47.50", "5.00", "500"],
                ["pro", "20000", "180.00", "10.00", "1000"],
                ["scale", "100000", "850.00", "15.00", "1500"],
            ])
        #expect(packs.pack(id: "pro")?.grantedCredits == MicroCredits.credits(20_000))
        #expect(packs.pack(id: "pro")?.grantedCredits == MicroCredits(20_000_000_000))
        #expect(packs.pack(id: "missing") == nil)
    }

    @Test func discountIsFlooredAndNeverNegative() {
        // 3 credits for 2 cents: 33.333…% → 3333 bp.
        #expect(CreditPack(id: "a", credits: 3, price: 2, currency: "usd", label: "x").discountBasisPoints == 3333)
        #expect(CreditPack(id: "a", credits: 3, price: 2, currency: "usd", label: "x").discountText == "33.33")
        // Priced above the credits' 1-cent value: no discount, not a negative one.
        #expect(CreditPack(id: "a", credits: 100, price: 150, currency: "usd", label: "x").discountBasisPoints == 0)
        #expect(CreditPack(id: "a", credits: 100, price: 100, currency: "usd", label: "x").discountText == "0.00")
    }

    @Test func zeroDecimalCurrenciesHaveNoFraction() {
        #expect(CurrencyUnits.exponent(of: "jpy") == 0)
        #expect(CurrencyUnits.exponent(of: "krw") == 0)
        #expect(CurrencyUnits.exponent(of: "usd") == 2)
        #expect(CreditPack(id: "a", credits: 1000, price: 1000, currency: "jpy", label: "x").priceText == "1000")
        #expect(CreditPack(id: "a", credits: 1000, price: 5, currency: "eur", label: "x").priceText == "0.05")
        #expect(CreditPack(id: "a", credits: 1000, price: 123_456, currency: "usd", label: "x").priceText == "1234.56")
    }

    @Test func aValidFileKeepsItsOrder() throws {
        let file =
            #"{"packs":[{"id":"b-2","credits":10,"price":9,"currency":"eur","label":"Ten"},"#
            + #"{"id":"a1","credits":5,"price":7,"currency":"eur","label":"Five"}]}"#
        let packs = try PackLoader.parse(Data(file.utf8), path: "packs.json")
        #expect(
            packs.packs == [
                CreditPack(id: "b-2", credits: 10, price: 9, currency: "eur", label: "Ten"),
                CreditPack(id: "a1", credits: 5, price: 7, currency: "eur", label: "Five"),
            ])
        #expect(packs.currency == "eur")
    }

    func error(_ packs: String) -> String? {
        do {
            _ = try PackLoader.parse(Data(packs.utf8), path: "packs.json")
            return nil
        } catch {
            return "\(error)"
        }
    }

    static let good = #"{"id":"ok","credits":100,"price":100,"currency":"usd","label":"OK"}"#

    /// A file with the good pack, then one pack made of `fields`.
    static func second(_ fields: String) -> String { #"{"packs":[\#(good),{\#(fields)}]}"# }
    /// A file with a single pack made of `fields`.
    static func only(_ fields: String) -> String { #"{"packs":[{\#(fields)}]}"# }

    @Test func everyBadFieldIsNamed() {
        let rest = #""credits":1,"price":1,"currency":"usd","label":"x""#
        let longID = String(repeating: "a", count: 41)
        let cases: [(String, String)] = [
            (#"{"packs":[]}"#, "packs.json: packs must list at least one pack"),
            (#"{"other":1}"#, "packs.json: packs is required"),
            (#"{"packs":{}}"#, "packs.json: packs must be an array"),
            (#"[1]"#, "packs.json: (top level) must be an object"),
            (#"{"packs":[\#(Self.good), 3]}"#, "packs.json: packs[1] must be an object"),
            (Self.second(#""id":"ok",\#(rest)"#), "packs.json: packs[1].id repeats"),
            (Self.only(#""id":"Big",\#(rest)"#), "packs.json: packs[0].id must be 1 to 40"),
            (Self.only(#""id":"",\#(rest)"#), "packs.json: packs[0].id must be 1 to 40"),
            (Self.only(#""id":"\#(longID)",\#(rest)"#), "packs.json: packs[0].id must be 1 to 40"),
            (Self.only(rest), "packs.json: packs[0].id must be a string"),
            (Self.only(#""id":"a","credits":0,"price":1,"currency":"usd","label":"x""#), "packs.json: packs[0].credits must be a positive integer"),
            (Self.only(#""id":"a","credits":-5,"price":1,"currency":"usd","label":"x""#), "packs.json: packs[0].credits must be a positive integer"),
            (Self.only(#""id":"a","credits":"5","price":1,"currency":"usd","label":"x""#), "packs.json: packs[0].credits must be a positive integer"),
            (Self.only(#""id":"a","credits":1e13,"price":1,"currency":"usd","label":"x""#), "packs.json: packs[0].credits must be at most"),
            (
                #"{"packs":[\#(Self.good),{"id":"b",\#(rest)},{"id":"c","credits":1,"price":0,"currency":"usd","label":"x"}]}"#,
                "packs.json: packs[2].price must be a positive integer (minor units of usd)"
            ),
            (Self.only(#""id":"a","credits":1,"price":2.5,"currency":"usd","label":"x""#), "packs.json: packs[0].price must be a positive integer"),
            (Self.only(#""id":"a","credits":1,"price":100000000,"currency":"usd","label":"x""#), "packs.json: packs[0].price must be at most"),
            (Self.only(#""id":"a","credits":1,"price":1,"currency":"USD","label":"x""#), "packs.json: packs[0].currency must be a lower-case ISO"),
            (Self.only(#""id":"a","credits":1,"price":1,"label":"x""#), "packs.json: packs[0].currency must be a lower-case ISO 4217"),
            (
                Self.second(#""id":"b","credits":1,"price":1,"currency":"eur","label":"x""#),
                #"packs.json: packs[1].currency is "eur" but packs[0] is "usd""#
            ),
            (Self.only(#""id":"a","credits":1,"price":1,"currency":"usd","label":"  ""#), "packs.json: packs[0].label must be a non-empty string"),
            (Self.only(#""id":"a","credits":1,"price":1,"currency":"usd""#), "packs.json: packs[0].label must be a non-empty string"),
            (Self.only(#""id":"a",\#(rest),"prize":3"#), "packs.json: packs[0].prize is not a pack field"),
            (#"{"packs":[ "#, "packs.json: not valid JSON"),
        ]
        for (file, expected) in cases {
            let message = error(file)
            #expect(message?.hasPrefix(expected) == true, "\(file) gave \(message ?? "no error")")
        }
    }

    @Test func priceAboveTheCreditsValueIsAllowed() throws {
        let packs = try PackLoader.parse(Data(#"{"packs":[{"id":"a","credits":10,"price":20,"currency":"usd","label":"x"}]}"#.utf8))
        #expect(packs.packs[0].discountBasisPoints == 0)
    }

    @Test func anUnreadableFileNamesItsPath() {
        #expect(throws: PackError.unreadable(path: "/nonexistent/packs.json", reason: "cannot be read")) {
            try PackLoader.load(path: "/nonexistent/packs.json")
        }
    }
}
