// bundle export: the device's pending changes sealed into one file for the server
// (client/bundle.h), for areas with no connection; `vinculo-server bundle import` applies it.

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

#include "client/bundle.h"
#include "client/cli/commands.h"

namespace vinculo::client::cli {
namespace {

namespace fs = std::filesystem;

// The name of the server's certificate inside the home directory, used when --server-cert is not
// given.
constexpr char kServerCertFileName[] = "server-cert.pem";

// The host of an https:// URL ("vinculo.example.org", "127.0.0.1", "::1"); empty when there is
// none.
std::string UrlHost(const std::string& url) {
  std::string rest = url;
  if (const size_t scheme = rest.find("://"); scheme != std::string::npos) {
    rest = rest.substr(scheme + 3);
  }
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.find(':'));
}

// Writes `bytes` to `path` (mode 0600), replacing it atomically.
Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Internal("cannot write " + path + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return Error::Internal("cannot write " + path + ": " + std::strerror(e));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(temp.c_str());
    return Error::Internal("cannot write " + path + ": " + std::strerror(e));
  }
  return Status::Ok();
}

struct ExportArgs {
  std::string to;
  std::string server_cert;
};

Status RunExport(Context& context, const ExportArgs& args) {
  Result<int64_t> now = context.NowMs();
  if (!now) return now.error();
  Result<fs::path> home = context.Home();
  if (!home) return home.error();
  Result<LocalStore> store = context.OpenStore();
  if (!store) return store.error();
  Result<DeviceStatus> status = store->ReadStatus();
  if (!status) return status.error();
  Result<std::string> token = store->Token();
  if (!token) {
    return Error::Unauthenticated(
        "this device has not logged in: a bundle is signed with the device's token, so log in "
        "once (vinculo login) where there is a connection before exporting bundles");
  }

  std::string cert = args.server_cert;
  if (cert.empty()) {
    cert = (*home / kServerCertFileName).string();
    std::error_code ec;
    if (!fs::exists(cert, ec)) {
      return Error::InvalidArgument(
          "no server certificate: give --server-cert FILE (the server's server.pem, from the "
          "administrator) or copy it to " +
              cert,
          "--server-cert");
    }
  }
  Result<std::string> server_key =
      ServerKeyFromCertificate(cert, status->ca_file, UrlHost(status->server_url));
  if (!server_key) return server_key.error();

  Result<std::vector<v1::Mutation>> pending = store->Pending(std::numeric_limits<size_t>::max());
  if (!pending) return pending.error();
  if (pending->empty()) {
    return Error::FailedPrecondition("nothing to export: no changes are waiting to be pushed");
  }
  v1::SyncRequest request;
  request.set_device_id(store->device_id());
  request.set_clock(status->hlc);
  for (v1::Mutation& m : *pending) *request.add_mutations() = std::move(m);
  Result<std::string> bundle = SealBundle(request, *now, *server_key, BundleTokenHash(*token));
  if (!bundle) return bundle.error();
  VINCULO_RETURN_IF_ERROR(WriteFileAtomically(args.to, *bundle));

  const uint64_t first = request.mutations(0).seq();
  const uint64_t last = request.mutations(request.mutations_size() - 1).seq();
  context.out() << "wrote " << args.to << ": " << request.mutations_size()
                << (request.mutations_size() == 1 ? " change" : " changes") << " (seq " << first
                << (first == last ? "" : "-" + std::to_string(last)) << ") of device "
                << store->device_id() << ", sealed for " << UrlHost(status->server_url)
                << "; they stay pending here until a sync acknowledges them\n";
  return Status::Ok();
}

}  // namespace

void AddBundleCommands(CLI::App& app, Context& context) {
  CLI::App* bundle = app.add_subcommand(
      "bundle",
      "Offline bundles: pending changes in one encrypted file, carried to the server where there "
      "is no connection");
  bundle->require_subcommand(1);
  auto args = std::make_shared<ExportArgs>();
  CLI::App* command = bundle->add_subcommand(
      "export",
      "Write every pending change into FILE, encrypted for the server and signed with this "
      "device's token; the changes stay pending until the next sync");
  command->add_option("--to", args->to, "The bundle file to write (replaced if it exists)")
      ->required()
      ->type_name("FILE");
  command
      ->add_option("--server-cert", args->server_cert,
                   "The server's certificate (PEM), checked against the device's CA; default: "
                   "server-cert.pem in the home directory")
      ->type_name("FILE");
  command->callback([&context, args] {
    context.SetAction([&context, args]() -> Status { return RunExport(context, *args); });
  });
}

}  // namespace vinculo::client::cli
