#include "common/uuid.h"

#include <openssl/rand.h>

namespace vinculo {

std::string UuidV7(uint64_t unix_ms, const std::array<uint8_t, 10>& random) {
  std::array<uint8_t, 16> b{};
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(unix_ms >> (8 * (5 - i)));
  b[6] = static_cast<uint8_t>(0x70 | (random[0] & 0x0F));  // version 7
  b[7] = random[1];
  b[8] = static_cast<uint8_t>(0x80 | (random[2] & 0x3F));  // variant 10
  for (int i = 9; i < 16; ++i) b[i] = random[i - 6];

  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[b[i] >> 4]);
    text.push_back(kHex[b[i] & 0x0F]);
  }
  return text;
}

Result<std::string> NewUuidV7(uint64_t unix_ms) {
  std::array<uint8_t, 10> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return Error::Internal("OpenSSL could not produce random bytes for an id");
  }
  // RFC 9562 method 1: the 12 bits after the version are a counter within one millisecond, so ids
  // made by one thread sort in the order they were made. A new millisecond starts the counter at a
  // random value below 2048, leaving room to count before it would overflow into the next one.
  thread_local uint64_t last_ms = 0;
  thread_local uint16_t counter = 0;
  if (unix_ms <= last_ms) {
    unix_ms = last_ms;
    if (++counter > 0x0FFF) {  // 4096 ids in one millisecond: borrow the next one
      ++unix_ms;
      counter = static_cast<uint16_t>(((random[0] << 8) | random[1]) & 0x07FF);
    }
  } else {
    counter = static_cast<uint16_t>(((random[0] << 8) | random[1]) & 0x07FF);
  }
  last_ms = unix_ms;
  random[0] = static_cast<uint8_t>(counter >> 8);
  random[1] = static_cast<uint8_t>(counter & 0xFF);
  return UuidV7(unix_ms, random);
}

}  // namespace vinculo
