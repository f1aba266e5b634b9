#pragma once
// The VFS every connection in our programs uses: SQLite's own for this platform, with the writes of
// a transaction to its write-ahead log gathered into large writes. SQLite writes a WAL frame as two
// calls (a 24-byte header, then the page), so a commit of 200 pages was 400 pwrite calls; on this
// project's virtual machines a call costs a few microseconds more than the copy it makes, and those
// calls were most of a commit's CPU (docs/performance.md, "WAL writes gathered"). Durability and
// ordering are SQLite's: everything gathered reaches the file before the WAL is synced, read,
// sized or truncated, and before the commit frame's transaction can become visible to another
// connection (the gathered writes are written out as soon as the commit frame's page is).

#include <cstdint>

namespace vinculo::sql {

// Registers the VFS as the process's default, once; later calls do nothing. Database::Open calls
// it. A program that opens SQLite through its C API (the benchmark's L) calls it to write alike.
void InstallWalWriteGathering();

// Write calls to WAL files since the process started: as SQLite made them, and as they reached
// the platform's VFS. For tests and benchmarks.
struct WalWriteCounts {
  uint64_t asked = 0;
  uint64_t made = 0;
};
WalWriteCounts CountWalWrites();

}  // namespace vinculo::sql
