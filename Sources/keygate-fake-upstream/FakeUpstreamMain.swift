@main struct FakeUpstreamMain { static func main() {} }
