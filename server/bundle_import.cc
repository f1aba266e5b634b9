#include "server/bundle_import.h"

#include <algorithm>

#include "client/bundle.h"
#include "common/civil_time.h"

namespace vinculo::server {

Result<BundleImportSummary> ImportBundle(CentralStore& store, const std::string& bundle,
                                         const std::string& private_key_pem, int64_t now_ms,
                                         const SyncLimits& limits) {
  Result<client::BundleHeader> header = client::PeekBundle(bundle);
  if (!header) return header.error();

  Result<std::vector<DeviceRecord>> devices = store.ListDevices();
  if (!devices) return devices.error();
  auto device = std::find_if(devices->begin(), devices->end(), [&](const DeviceRecord& d) {
    return d.device_id == header->device_id;
  });
  if (device == devices->end()) {
    return Error::NotFound("no device " + header->device_id +
                           " on this server (was the bundle made for another server?)");
  }
  if (device->revoked_ms != 0) {
    return Error::PermissionDenied("device " + header->device_id + " was revoked on " +
                                   UtcTimestamp(device->revoked_ms) + ": its bundles are refused");
  }
  Result<std::optional<UserRecord>> user = store.FindUser(device->username);
  if (!user) return user.error();
  if (!user->has_value()) return Error::NotFound("no user " + device->username);
  if ((*user)->disabled) {
    return Error::PermissionDenied("user " + device->username +
                                   " is disabled: bundles of their device are refused");
  }
  if (device->token_hash.empty()) {
    return Error::Unauthenticated("device " + header->device_id +
                                  " never logged in: it has no token to verify the bundle with");
  }

  Result<v1::SyncRequest> request = client::OpenBundle(bundle, private_key_pem, device->token_hash);
  if (!request) return request.error();

  BundleImportSummary summary;
  summary.device_id = header->device_id;
  summary.username = device->username;
  summary.created_ms = header->created_ms;
  summary.token_expired = device->token_expires_ms <= now_ms;
  summary.mutations = static_cast<uint64_t>(request->mutations_size());
  if (summary.mutations == 0) return summary;
  summary.first_seq = request->mutations(0).seq();
  summary.last_seq = request->mutations(request->mutations_size() - 1).seq();
  uint64_t last_seq = device->last_seq;
  if (summary.first_seq > last_seq + 1) {
    return Error::FailedPrecondition(
        "the bundle starts at change " + std::to_string(summary.first_seq) + " of device " +
        summary.device_id + ", but the server has its changes only up to " +
        std::to_string(last_seq) +
        ": an earlier bundle (or sync) of this device is missing; import that one first. Nothing "
        "was applied");
  }

  const Principal who{.username = (*user)->username,
                      .role = (*user)->role,
                      .region = (*user)->region,
                      .device_id = summary.device_id};
  SyncService service(store, limits);
  const int chunk = static_cast<int>(std::max<uint32_t>(limits.max_mutations, 1));
  for (int begin = 0; begin < request->mutations_size(); begin += chunk) {
    v1::SyncRequest part;
    part.set_device_id(summary.device_id);
    part.set_clock(request->clock());
    part.set_cursor(0);
    part.set_limit(1);  // a push: the one change pulled back is ignored
    const int end = std::min(request->mutations_size(), begin + chunk);
    for (int i = begin; i < end; ++i) {
      const v1::Mutation& m = request->mutations(i);
      if (m.seq() <= last_seq) {
        ++summary.already;
        continue;
      }
      *part.add_mutations() = m;
    }
    if (part.mutations_size() == 0) continue;
    Result<v1::SyncResponse> response = service.Sync(who, part, now_ms);
    if (!response) return response.error();
    const uint64_t acked = response->acked_seq();
    const uint64_t newly = acked > last_seq ? acked - last_seq : 0;
    summary.rejected += static_cast<uint64_t>(response->rejections_size());
    summary.applied += newly - std::min<uint64_t>(newly, response->rejections_size());
    summary.conflicts += response->conflicts();
    for (const v1::Rejection& r : response->rejections()) summary.rejections.push_back(r);
    last_seq = acked;
  }
  return summary;
}

}  // namespace vinculo::server
