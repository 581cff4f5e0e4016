package sqlite

// The change counter the token cache (tokencache.go) is invalidated by:
// the WAL-index header at the start of the database's -shm file, which
// SQLite itself rewrites on every commit, by any connection of any process
// on this host (tokend, `tokend user delete`, a sqlite3 shell). Reading it
// is a dozen loads from a shared mapping: no syscall, no lock, no
// statement. See docs/benchmarks.md for the measurements and the signals
// it was chosen over.
//
// The header (SQLite's file format, "WAL-Index Format"; struct WalIndexHdr
// in wal.c), in the host's byte order:
//
//	0  iVersion     3007000
//	4  unused
//	8  iChange      incremented by every commit
//	12 isInit       1 once initialised
//	13 bigEndCksum
//	14 szPage
//	16 mxFrame      last valid frame in the WAL
//	20 nPage
//	24 aFrameCksum  checksum of the last frame
//	32 aSalt        copied from the WAL header; new after a WAL restart
//	40 aCksum       checksum of the 40 bytes before it
//
// It is stored twice, at offsets 0 and 48. A committing writer copies the
// new header into the second copy, issues a memory barrier, then into the
// first; a reader reads the first, then the second, and trusts them only
// when they are equal (walIndexTryHdr does the same). Any commit changes
// iChange, mxFrame and both checksums, so "the 48 bytes are what they
// were" means "nothing was committed since".

// walVersion is one consistent copy of the WAL-index header, as six words.
type walVersion [6]uint64

// walIndexHeaderVersion is iVersion of every WAL-index SQLite 3.7.0 and
// later writes.
const walIndexHeaderVersion = 3007000

// shmHeaderSize is the two header copies; the checkpoint information
// follows and is not read.
const shmHeaderSize = 96
