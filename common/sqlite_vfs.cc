#include "common/sqlite_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <new>
#include <vector>

namespace vinculo::sql {
namespace {

// Gathered bytes are written out at this size at the latest: a large transaction (a full push of
// 500 visits writes about 3 MB of frames) costs a few writes, and the buffer stays small.
constexpr size_t kGatherBytes = size_t{1} << 20;
// The most one write call to the platform's VFS takes: the unix VFS masks a write's length to 17
// bits (seekAndWriteFd), so a longer one would come back short, as a full disk.
constexpr size_t kPlatformWriteBytes = 0x1f000;  // 124 KiB
// A WAL frame's header (https://www.sqlite.org/fileformat2.html#walformat): bytes 4 to 7 hold,
// big-endian, the database's size in pages after a commit frame, and zero in every other frame.
constexpr int kFrameHeaderBytes = 24;

std::atomic<uint64_t> g_asked{0};
std::atomic<uint64_t> g_made{0};

// A file opened through this VFS. SQLite allocates szOsFile bytes for it: this struct, then the
// platform VFS's own file object.
struct GatheringFile {
  sqlite3_file base;                   // first: what SQLite sees
  sqlite3_file* real;                  // the platform's file, right after this struct
  std::vector<char>* pending;          // a WAL's gathered writes, from `start`; null otherwise
  sqlite3_int64 start;
  bool commit_header_gathered;         // the last write gathered was a commit frame's header
};
// The platform's file object starts here, aligned as any object SQLite allocates.
constexpr size_t kRealOffset =
    (sizeof(GatheringFile) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) *
    alignof(std::max_align_t);

GatheringFile* As(sqlite3_file* file) { return reinterpret_cast<GatheringFile*>(file); }
sqlite3_vfs* Platform(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

bool IsCommitFrameHeader(const void* data, int amount) {
  if (amount != kFrameHeaderBytes) return false;
  const auto* b = static_cast<const unsigned char*>(data);
  return (b[4] | b[5] | b[6] | b[7]) != 0;
}

// Writes `size` bytes at `offset` to the platform's file, in calls it takes whole.
int WriteOut(GatheringFile* f, const char* data, size_t size, sqlite3_int64 offset) {
  for (size_t done = 0; done < size;) {
    const size_t n = std::min(size - done, kPlatformWriteBytes);
    g_made.fetch_add(1, std::memory_order_relaxed);
    const int rc = f->real->pMethods->xWrite(f->real, data + done, static_cast<int>(n),
                                             offset + static_cast<sqlite3_int64>(done));
    if (rc != SQLITE_OK) return rc;
    done += n;
  }
  return SQLITE_OK;
}

// Writes out what is gathered. On an error the gathered bytes are dropped: SQLite hears the error
// from the call that asked for this one, and fails the transaction they belong to.
int Flush(GatheringFile* f) {
  if (f->pending == nullptr || f->pending->empty()) return SQLITE_OK;
  const int rc = WriteOut(f, f->pending->data(), f->pending->size(), f->start);
  f->pending->clear();
  f->commit_header_gathered = false;
  return rc;
}

// ---- File methods: the platform's, with a WAL's writes gathered.

int Close(sqlite3_file* file) {
  GatheringFile* f = As(file);
  const int flushed = Flush(f);
  const int rc = f->real->pMethods->xClose(f->real);
  delete f->pending;
  f->pending = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  GatheringFile* f = As(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  GatheringFile* f = As(file);
  if (f->pending == nullptr) return f->real->pMethods->xWrite(f->real, data, amount, offset);
  g_asked.fetch_add(1, std::memory_order_relaxed);
  std::vector<char>& pending = *f->pending;
  const auto size = static_cast<size_t>(amount);
  const bool follows =
      !pending.empty() && offset == f->start + static_cast<sqlite3_int64>(pending.size());
  if (!follows || pending.size() + size > kGatherBytes) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (size > kGatherBytes) return WriteOut(f, static_cast<const char*>(data), size, offset);
  if (pending.empty()) f->start = offset;
  try {
    const auto* bytes = static_cast<const char*>(data);
    pending.insert(pending.end(), bytes, bytes + size);
  } catch (const std::bad_alloc&) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    return WriteOut(f, static_cast<const char*>(data), size, offset);
  }
  // The page after a commit frame's header ends the transaction's frames: out they go, before
  // SQLite syncs the log (synchronous = FULL) or publishes the frames to other connections.
  if (f->commit_header_gathered) return Flush(f);
  f->commit_header_gathered = IsCommitFrameHeader(data, amount);
  return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  GatheringFile* f = As(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  GatheringFile* f = As(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  GatheringFile* f = As(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int Lock(sqlite3_file* file, int level) {
  return As(file)->real->pMethods->xLock(As(file)->real, level);
}
int Unlock(sqlite3_file* file, int level) {
  return As(file)->real->pMethods->xUnlock(As(file)->real, level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return As(file)->real->pMethods->xCheckReservedLock(As(file)->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  GatheringFile* f = As(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

int SectorSize(sqlite3_file* file) {
  return As(file)->real->pMethods->xSectorSize(As(file)->real);
}
int DeviceCharacteristics(sqlite3_file* file) {
  return As(file)->real->pMethods->xDeviceCharacteristics(As(file)->real);
}

// Shared memory (the WAL index) and memory-mapped reads belong to the database file, which is
// never gathered; they are the platform's, when its files have them.
int ShmMap(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  sqlite3_file* real = As(file)->real;
  if (real->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return real->pMethods->xShmMap(real, page, page_size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  sqlite3_file* real = As(file)->real;
  if (real->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return real->pMethods->xShmLock(real, offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) {
  sqlite3_file* real = As(file)->real;
  if (real->pMethods->iVersion >= 2) real->pMethods->xShmBarrier(real);
}
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  sqlite3_file* real = As(file)->real;
  if (real->pMethods->iVersion < 2) return SQLITE_OK;
  return real->pMethods->xShmUnmap(real, delete_flag);
}
int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  GatheringFile* f = As(file);
  *out = nullptr;  // "no mapping": SQLite reads instead
  if (f->pending != nullptr || f->real->pMethods->iVersion < 3) return SQLITE_OK;
  return f->real->pMethods->xFetch(f->real, offset, amount, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  sqlite3_file* real = As(file)->real;
  if (real->pMethods->iVersion < 3) return SQLITE_OK;
  return real->pMethods->xUnfetch(real, offset, p);
}

const sqlite3_io_methods kMethods = {
    3,           Close,    Read,       Write,    Truncate,    Sync,
    FileSize,    Lock,     Unlock,     CheckReservedLock,     FileControl,
    SectorSize,  DeviceCharacteristics, ShmMap,  ShmLock,     ShmBarrier,
    ShmUnmap,    Fetch,    Unfetch,
};

// ---- VFS methods: the platform's.

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  GatheringFile* f = As(file);
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealOffset);
  f->real->pMethods = nullptr;
  f->pending = nullptr;
  f->start = 0;
  f->commit_header_gathered = false;
  const int rc = Platform(vfs)->xOpen(Platform(vfs), name, f->real, flags, out_flags);
  // SQLite closes a file whose pMethods is set, even when opening it failed.
  file->pMethods = f->real->pMethods == nullptr ? nullptr : &kMethods;
  if (rc != SQLITE_OK || (flags & SQLITE_OPEN_WAL) == 0) return rc;
  f->pending = new (std::nothrow) std::vector<char>();
  if (f->pending == nullptr) {
    f->real->pMethods->xClose(f->real);
    file->pMethods = nullptr;
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Platform(vfs)->xDelete(Platform(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Platform(vfs)->xAccess(Platform(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Platform(vfs)->xFullPathname(Platform(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  return Platform(vfs)->xDlOpen(Platform(vfs), name);
}
void DlError(sqlite3_vfs* vfs, int n, char* out) { Platform(vfs)->xDlError(Platform(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Platform(vfs)->xDlSym(Platform(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Platform(vfs)->xDlClose(Platform(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Platform(vfs)->xRandomness(Platform(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int microseconds) {
  return Platform(vfs)->xSleep(Platform(vfs), microseconds);
}
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Platform(vfs)->xCurrentTime(Platform(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Platform(vfs)->xGetLastError(Platform(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Platform(vfs)->xCurrentTimeInt64(Platform(vfs), out);
}
int SetSystemCall(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  return Platform(vfs)->xSetSystemCall(Platform(vfs), name, call);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Platform(vfs)->xGetSystemCall(Platform(vfs), name);
}
const char* NextSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Platform(vfs)->xNextSystemCall(Platform(vfs), name);
}

}  // namespace

void InstallWalWriteGathering() {
  static const bool kInstalled = [] {
    sqlite3_vfs* platform = sqlite3_vfs_find(nullptr);
    if (platform == nullptr) return false;
    static sqlite3_vfs vfs{};
    vfs.iVersion = std::min(platform->iVersion, 3);
    vfs.szOsFile = static_cast<int>(kRealOffset) + platform->szOsFile;
    vfs.mxPathname = platform->mxPathname;
    vfs.zName = "vinculo-wal-gathering";
    vfs.pAppData = platform;
    vfs.xOpen = Open;
    vfs.xDelete = Delete;
    vfs.xAccess = Access;
    vfs.xFullPathname = FullPathname;
    vfs.xDlOpen = DlOpen;
    vfs.xDlError = DlError;
    vfs.xDlSym = DlSym;
    vfs.xDlClose = DlClose;
    vfs.xRandomness = Randomness;
    vfs.xSleep = Sleep;
    vfs.xCurrentTime = CurrentTime;
    vfs.xGetLastError = GetLastError;
    if (vfs.iVersion >= 2 && platform->xCurrentTimeInt64 != nullptr) {
      vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    }
    if (vfs.iVersion >= 3 && platform->xSetSystemCall != nullptr) {
      vfs.xSetSystemCall = SetSystemCall;
      vfs.xGetSystemCall = GetSystemCall;
      vfs.xNextSystemCall = NextSystemCall;
    }
    return sqlite3_vfs_register(&vfs, /*makeDflt=*/1) == SQLITE_OK;
  }();
  (void)kInstalled;
}

WalWriteCounts CountWalWrites() {
  return {.asked = g_asked.load(std::memory_order_relaxed),
          .made = g_made.load(std::memory_order_relaxed)};
}

}  // namespace vinculo::sql
