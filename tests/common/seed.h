#pragma once
// Seeds and sizes for property tests. Every property test prints its seed; to replay a failure run
//   VINCULO_SEED=<seed> ctest -R <test>        (or the test binary with --gtest_filter)
// VINCULO_PROPERTY_CASES overrides the number of random cases (default 10,000).

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

namespace vinculo {

// The seed for this run (VINCULO_SEED, else a random one), printed so that every run can be replayed.
inline uint64_t PropertySeed() {
  uint64_t seed = 0;
  if (const char* s = std::getenv("VINCULO_SEED")) {
    seed = std::strtoull(s, nullptr, 10);
  } else {
    std::random_device device;
    seed = (static_cast<uint64_t>(device()) << 32) | device();
  }
  std::cout << "[ property ] VINCULO_SEED=" << seed << std::endl;
  return seed;
}

inline int PropertyCases(int fallback = 10'000) {
  if (const char* s = std::getenv("VINCULO_PROPERTY_CASES")) return std::atoi(s);
  return fallback;
}

// The line to print with a failure so that it can be replayed.
inline std::string SeedTrace(uint64_t seed) {
  return "replay with VINCULO_SEED=" + std::to_string(seed);
}

}  // namespace vinculo
