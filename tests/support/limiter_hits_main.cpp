// otpp-limiter-hits URL ALGORITHM LIMIT HITS [THREADS [BLOCK]]: another runtime
// process for the Redis limiter tests. THREADS threads (default 1) each hit
// key "shared" of limiter "shared" HITS times (window scales and bucket
// rates such that nothing expires meanwhile); prints how many hits were
// allowed, or fails if a hit was answered by the failure policy. BLOCK:
// redis_options::block (default 0).
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/supervision/errors.hpp"

int main(int argc, char** argv) {
  using namespace otpp::rate_limit;
  if (argc < 5 || argc > 7) {
    std::fprintf(stderr, "usage: otpp-limiter-hits URL ALGORITHM LIMIT HITS [THREADS [BLOCK]]\n");
    return 2;
  }
  limiter_config config;
  config.name = "shared";
  std::string a = argv[2];
  config.algorithm = a == "fixed_window"     ? algorithm::fixed_window
                     : a == "sliding_window" ? algorithm::sliding_window
                     : a == "token_bucket"   ? algorithm::token_bucket
                                             : algorithm::leaky_bucket;
  config.limit = config.capacity = std::stoll(argv[3]);
  config.scale_ms = 1'000'000'000'000; // ~31 years: no window ends during the test
  config.rate_per_s = 0;
  redis_options options;
  options.url = argv[1];
  options.timeout = std::chrono::seconds(5);
  options.block = argc == 7 ? std::stoll(argv[6]) : 0;
  auto l = limiter::on_redis(config, options);
  if (!l) {
    std::fprintf(stderr, "%s\n", otpp::supervision::describe(l.error()).c_str());
    return 1;
  }
  long hits = std::stol(argv[4]);
  int threads = argc >= 6 ? std::stoi(argv[5]) : 1;
  std::atomic<long> allowed{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t)
    running.emplace_back([&] {
      for (long i = 0; i < hits; ++i) {
        auto d = (*l)->hit("shared");
        if (!d || d->degraded)
          failed = true;
        else if (d->allowed)
          ++allowed;
      }
    });
  for (auto& t : running)
    t.join();
  if (failed) {
    std::fprintf(stderr, "hit failed\n");
    return 1;
  }
  std::printf("%ld\n", allowed.load());
  return 0;
}
