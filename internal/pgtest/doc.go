// Package pgtest runs throwaway PostgreSQL clusters for tests, so that code
// reading a database/sql cursor (generator.Rows, the handlers that stream
// query results) is tested against a real server rather than a fake driver.
//
// [Start] initializes a new cluster in a temporary directory with the
// PostgreSQL 15 programs in [DefaultBinDir] (or the directory named by the
// PGTEST_BINDIR environment variable), starts it, and waits until it accepts
// connections; [Server.Stop] shuts it down and removes the directory. The
// cluster is tuned for tests, not for keeping data: fsync and WAL safety are
// off, buffers are small, authentication is "trust" for the superuser
// "postgres", and it listens on a Unix socket in its own directory only —
// nothing is reachable over the network and parallel test binaries never
// race for a port. PostgreSQL refuses to run as root; when the tests run as
// root (as in CI) the cluster runs as the unprivileged user "postgres".
//
// Tests usually share one cluster per test binary and take a fresh database
// each, so that they are isolated from one another:
//
//	func TestMain(m *testing.M) {
//		goleak.VerifyTestMain(pgtest.Main(m)) // or os.Exit(pgtest.Main(m).Run())
//	}
//
//	func TestSomething(t *testing.T) {
//		db := pgtest.DB(t) // a new, empty database; closed and dropped when t ends
//		...
//	}
//
// Without [Main], [Shared] and [DB] start a cluster for the calling test and
// stop it when that test ends; a test with subtests can then share one
// cluster by calling [Shared] once and [Server.DB] in each subtest.
//
// # When PostgreSQL is missing
//
// If the programs (or, under root, the user "postgres") are missing, [Start]
// returns an error matching [ErrUnavailable], and [New], [Shared] and [DB]
// skip the test with a message saying what is missing — unless the
// environment variable CI is set (to anything but a false value such as
// "false" or "0"), where they fail it: CI must really run the database tests.
//
// The package works on Linux only; elsewhere the server is unavailable.
// A test binary killed before it can stop its clusters (a test timeout, say)
// leaves their temporary directories behind, but not the servers: each is
// started with a parent-death signal that shuts it down.
package pgtest
