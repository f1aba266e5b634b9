// vinculo-server: the sync server and its administration commands.
#include <CLI/CLI.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "common/civil_time.h"
#include "common/record.h"
#include "server/api.h"
#include "server/backup.h"
#include "server/bundle_import.h"
#include "server/http_server.h"
#include "server/reply_format.h"
#include "server/sqlite_central_store.h"

namespace vinculo::server {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Fail(const Error& error) {
  std::cerr << "error: " << error.ToString() << "\n";
  return 1;
}

Result<std::unique_ptr<CentralStore>> OpenStore(const std::string& data_dir, bool create) {
  return OpenSqliteCentralStore(data_dir, create);
}

struct ServeFlags {
  std::string listen = "127.0.0.1:8443";
  std::string cert, key, port_file;
  int threads = 2;
  size_t max_body = 32 << 20;
  int max_connections = 2000;
  int read_timeout = 30;
  int max_group = 128;
  int64_t token_lifetime_s = 90LL * 24 * 3600;
  bool quiet = false;
};

int Serve(const std::string& data_dir, const ServeFlags& flags) {
  const size_t colon = flags.listen.rfind(':');
  if (colon == std::string::npos) {
    return Fail(Error::InvalidArgument("must be HOST:PORT", "--listen"));
  }
  ServerOptions options;
  options.host = flags.listen.substr(0, colon);
  try {
    const int port = std::stoi(flags.listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    options.port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    return Fail(Error::InvalidArgument("port must be a number from 0 to 65535", "--listen"));
  }
  options.cert_file = flags.cert;
  options.key_file = flags.key;
  options.io_threads = flags.threads;
  options.max_body_bytes = flags.max_body;
  options.max_connections = flags.max_connections;
  options.read_timeout_s = flags.read_timeout;
  options.max_group = static_cast<size_t>(flags.max_group);
  options.log_requests = !flags.quiet;

  Result<std::unique_ptr<CentralStore>> store = OpenStore(data_dir, /*create=*/true);
  if (!store) return Fail(store.error());
  ApiOptions api_options;
  api_options.max_body_bytes = flags.max_body;
  api_options.token_lifetime_ms = flags.token_lifetime_s * 1000;
  Api api(**store, api_options);
  // Sync bodies are decoded on the I/O threads, leaving the store thread the store's work.
  options.prepare = [&api](HttpRequest* request) { api.Prepare(request); };
  // Logins get their own store connection and thread: password hashing must not hold up syncs.
  Result<std::unique_ptr<CentralStore>> login_store = OpenStore(data_dir, /*create=*/false);
  if (!login_store) return Fail(login_store.error());
  Api login_api(**login_store, api_options);
  // Syncs that wait for the store thread together are committed together (Api::HandleGroup).
  Result<std::unique_ptr<HttpsServer>> server = HttpsServer::Create(
      options,
      HttpsServer::GroupHandler([&api](const std::vector<const HttpRequest*>& requests) {
        return api.HandleGroup(requests, NowMs());
      }),
      [&login_api](const HttpRequest& request) { return login_api.Handle(request, NowMs()); });
  if (!server) return Fail(server.error());
  std::cout << "listening on " << options.host << ":" << (*server)->port() << std::endl;
  if (!flags.port_file.empty()) {
    std::ofstream(flags.port_file) << (*server)->port() << "\n";
  }
  (*server)->Run(/*handle_signals=*/true);
  std::cout << "stopped" << std::endl;
  return 0;  // the store closes cleanly as it goes out of scope
}

// The first line of standard input, without its line ending.
std::string ReadPassword() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int AddUser(const std::string& data_dir, const std::string& username, const std::string& role_name,
            const std::string& region) {
  std::optional<Role> role = ParseRole(role_name);
  if (!role) {
    return Fail(Error::InvalidArgument(
        "must be field_worker, regional_office, supervisor or admin", "--role"));
  }
  if (*role != Role::kAdmin && region.empty()) {
    return Fail(Error::InvalidArgument("is required for a " + role_name, "--region"));
  }
  if (*role == Role::kAdmin && !region.empty()) {
    return Fail(Error::InvalidArgument("is not for an admin, who sees every region", "--region"));
  }
  const std::string password = ReadPassword();
  if (password.size() < 8) {
    return Fail(Error::InvalidArgument("must be at least 8 characters (read from standard input)",
                                       "password"));
  }
  Result<std::string> hash = HashPassword(password);
  if (!hash) return Fail(hash.error());
  Result<std::unique_ptr<CentralStore>> store = OpenStore(data_dir, /*create=*/true);
  if (!store) return Fail(store.error());
  Status s = (*store)->AddUser({.username = username,
                                .password_hash = *hash,
                                .role = *role,
                                .region = region,
                                .created_ms = NowMs()});
  if (!s.ok()) return Fail(s.error());
  std::cout << "added " << role_name << " " << username
            << (region.empty() ? "" : " in region " + region) << "\n";
  return 0;
}

int ListUsers(const std::string& data_dir) {
  Result<std::unique_ptr<CentralStore>> store = OpenStore(data_dir, false);
  if (!store) return Fail(store.error());
  Result<std::vector<UserRecord>> users = (*store)->ListUsers();
  if (!users) return Fail(users.error());
  std::printf("%-20s %-16s %-16s %s\n", "USERNAME", "ROLE", "REGION", "STATUS");
  for (const UserRecord& u : *users) {
    std::printf("%-20s %-16s %-16s %s\n", u.username.c_str(), std::string(RoleName(u.role)).c_str(),
                u.region.empty() ? "-" : u.region.c_str(), u.disabled ? "disabled" : "active");
  }
  return 0;
}

int ListDevices(const std::string& data_dir) {
  Result<std::unique_ptr<CentralStore>> store = OpenStore(data_dir, false);
  if (!store) return Fail(store.error());
  Result<std::vector<DeviceRecord>> devices = (*store)->ListDevices();
  if (!devices) return Fail(devices.error());
  std::printf("%-36s %-20s %-8s %-10s %s\n", "DEVICE", "USER", "STATUS", "LAST SEQ", "LAST SEEN");
  for (const DeviceRecord& d : *devices) {
    std::printf("%-36s %-20s %-8s %-10llu %s\n", d.device_id.c_str(), d.username.c_str(),
                d.revoked_ms != 0 ? "revoked" : "active",
                static_cast<unsigned long long>(d.last_seq),
                d.last_seen_ms == 0 ? "never" : UtcTimestamp(d.last_seen_ms).c_str());
  }
  return 0;
}

int ListConflicts(const std::string& data_dir) {
  Result<std::unique_ptr<CentralStore>> store = OpenStore(data_dir, false);
  if (!store) return Fail(store.error());
  Result<std::vector<StoredConflict>> conflicts = (*store)->ListConflicts();
  if (!conflicts) return Fail(conflicts.error());
  std::printf("%-5s %-10s %-36s %-16s %-24s %-24s %s\n", "ID", "REGION", "RECORD", "FIELD",
              "KIND", "KEPT", "LOST");
  for (const StoredConflict& c : *conflicts) {
    std::string kind = v1::ConflictKind_Name(c.conflict.kind());
    kind = kind.substr(std::string("CONFLICT_KIND_").size());
    std::printf("%-5lld %-10s %-36s %-16s %-24s %-24s %s\n", static_cast<long long>(c.id),
                c.region.c_str(), c.conflict.record_id().c_str(), c.conflict.field_name().c_str(),
                kind.c_str(), ("\"" + ConflictValueText(c.conflict, true) + "\"").c_str(),
                ("\"" + ConflictValueText(c.conflict, false) + "\"").c_str());
  }
  return 0;
}

int Backup(const std::string& data_dir, const std::string& to) {
  Result<BackupSummary> summary = BackupCentralStore(data_dir, to);
  if (!summary) return Fail(summary.error());
  std::cout << "backed up " << data_dir << "/central.db to " << to << ": " << summary->records
            << " records, last change " << summary->last_server_seq << ", " << summary->bytes
            << " bytes\n";
  return 0;
}

// Imports each bundle in turn; a bundle that fails is reported and the others still go in.
int ImportBundles(const std::string& data_dir, const std::string& key_file,
                  const std::vector<std::string>& files) {
  std::ifstream key_in(key_file, std::ios::binary);
  if (!key_in) return Fail(Error::NotFound("cannot read the private key " + key_file));
  const std::string key((std::istreambuf_iterator<char>(key_in)), std::istreambuf_iterator<char>());
  Result<std::unique_ptr<CentralStore>> store = OpenStore(data_dir, false);
  if (!store) return Fail(store.error());
  int status = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "error: " << file << ": cannot read it\n";
      status = 1;
      continue;
    }
    const std::string bundle((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    Result<BundleImportSummary> r = ImportBundle(**store, bundle, key, NowMs());
    if (!r) {
      std::cerr << "error: " << file << ": " << r.error().ToString() << " (nothing applied)\n";
      status = 1;
      continue;
    }
    std::cout << file << ": device " << r->device_id << " (" << r->username << "), sealed "
              << UtcTimestamp(r->created_ms) << ": " << r->mutations << " changes";
    if (r->mutations > 0) std::cout << " (seq " << r->first_seq << "-" << r->last_seq << ")";
    std::cout << ": " << r->applied << " applied, " << r->already << " already applied, "
              << r->rejected << " rejected, " << r->conflicts << " conflicts\n";
    for (const v1::Rejection& rejection : r->rejections) {
      std::cerr << "warning: " << file << ": change " << rejection.seq() << " rejected ("
                << v1::RejectionCode_Name(rejection.code()) << "): "
                << (rejection.field().empty() ? "" : rejection.field() + ": ")
                << rejection.message() << "\n";
    }
    if (r->token_expired) {
      std::cerr << "note: " << file << ": the device's token has expired; the bundle verified "
                << "with it and was accepted (revoke the device to refuse its bundles)\n";
    }
  }
  return status;
}

}  // namespace
}  // namespace vinculo::server

int main(int argc, char** argv) {
  using namespace vinculo::server;
  CLI::App app{"vinculo-server: the Vínculo sync server and its administration"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string data_dir;
  app.add_option("--data", data_dir, "The data directory holding central.db")
      ->envname("VINCULO_DATA")
      ->required();

  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "Serve HTTPS until SIGTERM or SIGINT");
  serve->add_option("--listen", serve_flags.listen, "Address and port, HOST:PORT (port 0: any)")
      ->capture_default_str();
  serve->add_option("--cert", serve_flags.cert, "PEM certificate chain")->required();
  serve->add_option("--key", serve_flags.key, "PEM private key")->required();
  serve->add_option("--threads", serve_flags.threads, "I/O threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve->add_option("--max-body", serve_flags.max_body, "Largest request body in bytes")
      ->capture_default_str();
  serve->add_option("--max-connections", serve_flags.max_connections, "Most open connections")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  serve->add_option("--read-timeout", serve_flags.read_timeout,
                    "Seconds a request may take to arrive")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  serve->add_option("--max-group", serve_flags.max_group,
                    "Most requests handled together, their syncs committed with one fsync (1: "
                    "each request commits on its own)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  serve->add_option("--token-lifetime", serve_flags.token_lifetime_s,
                    "Seconds a device token stays valid after login")
      ->check(CLI::Range(int64_t{1}, int64_t{10} * 365 * 24 * 3600))
      ->capture_default_str();
  serve->add_option("--port-file", serve_flags.port_file, "Write the bound port to this file");
  serve->add_flag("--quiet", serve_flags.quiet, "Do not log requests");

  CLI::App* user = app.add_subcommand("user", "Manage users");
  user->require_subcommand(1);
  std::string username, role, region;
  CLI::App* user_add = user->add_subcommand(
      "add", "Add a user; the password is read from the first line of standard input");
  user_add->add_option("--username", username, "The login name")->required();
  user_add->add_option("--role", role, "field_worker, regional_office, supervisor or admin")
      ->required();
  user_add->add_option("--region", region, "The user's region (not for admin)");
  CLI::App* user_list = user->add_subcommand("list", "List users");
  CLI::App* user_disable = user->add_subcommand("disable", "Disable a user: no more logins or syncs");
  user_disable->add_option("username", username, "The user to disable")->required();

  CLI::App* device = app.add_subcommand("device", "Manage enrolled devices");
  device->require_subcommand(1);
  std::string device_id;
  CLI::App* device_list = device->add_subcommand("list", "List devices");
  CLI::App* device_revoke =
      device->add_subcommand("revoke", "Revoke a device (a lost phone): its token stops working");
  device_revoke->add_option("device_id", device_id, "The device to revoke")->required();

  CLI::App* conflicts = app.add_subcommand("conflicts", "Conflicts found while merging");
  conflicts->require_subcommand(1);
  CLI::App* conflicts_list =
      conflicts->add_subcommand("list", "List every conflict: the value kept and the value lost");

  std::string backup_to;
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Copy the central store to FILE, consistent while the server is serving (SQLite online "
      "backup); restore: stop the server, put FILE in place as DATA/central.db, start it");
  backup->add_option("--to", backup_to, "The backup file to write (replaced atomically)")
      ->required()
      ->type_name("FILE");

  CLI::App* bundle = app.add_subcommand("bundle", "Offline bundles made by devices");
  bundle->require_subcommand(1);
  std::string bundle_key;
  std::vector<std::string> bundle_files;
  CLI::App* bundle_import = bundle->add_subcommand(
      "import",
      "Verify and apply bundles made by `vinculo bundle export`, with the rules of an online "
      "sync: a change applied before (by sync or an earlier import) is not applied again");
  bundle_import
      ->add_option("--key", bundle_key,
                   "The server's private key (PEM): the key of the certificate devices seal for")
      ->required()
      ->type_name("FILE");
  bundle_import->add_option("bundles", bundle_files, "Bundle files")
      ->required()
      ->type_name("FILE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*serve) return Serve(data_dir, serve_flags);
  if (*user_add) return AddUser(data_dir, username, role, region);
  if (*user_list) return ListUsers(data_dir);
  if (*user_disable) {
    auto store = OpenSqliteCentralStore(data_dir, false);
    if (!store) return Fail(store.error());
    if (auto s = (*store)->SetUserDisabled(username, true); !s.ok()) return Fail(s.error());
    std::cout << "disabled " << username << "\n";
    return 0;
  }
  if (*backup) return Backup(data_dir, backup_to);
  if (*bundle_import) return ImportBundles(data_dir, bundle_key, bundle_files);
  if (*device_list) return ListDevices(data_dir);
  if (*conflicts_list) return ListConflicts(data_dir);
  if (*device_revoke) {
    auto store = OpenSqliteCentralStore(data_dir, false);
    if (!store) return Fail(store.error());
    if (auto s = (*store)->RevokeDevice(device_id, NowMs()); !s.ok()) return Fail(s.error());
    std::cout << "revoked " << device_id << "\n";
    return 0;
  }
  return 2;
}
