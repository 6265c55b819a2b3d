import ArgumentParser

/// `--org SLUG`: the organisation a command acts on, declared once for every command that takes it.
struct OrganizationOption: ParsableArguments {
    @Option(help: "Organisation slug.") var org: String
}
