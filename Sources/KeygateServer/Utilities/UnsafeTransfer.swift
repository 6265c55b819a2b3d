/// Moves a value the compiler cannot prove Sendable into a child task. Used only where the parent waits for
/// the child before touching the value again, so the two never run at once.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
