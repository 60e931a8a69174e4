/// The peer launchers (moto, IAM, the silent listener, child processes) live in `CMKPeers`, which the
/// benchmarks share; tests reach them through the test kit.
@_exported import CMKPeers
