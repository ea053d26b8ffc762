// otpp-limiter-hits URL ALGORITHM LIMIT HITS: a second runtime process for
// the Redis limiter tests. Hits key "shared" of limiter "shared" HITS times
// (window scales and bucket rates such that nothing expires meanwhile) and
// prints how many hits were allowed.
#include <cstdio>
#include <string>

#include "actors/rate_limit/limiter.hpp"
#include "supervision/errors.hpp"

int main(int argc, char** argv) {
  using namespace otpp::rate_limit;
  if (argc != 5) {
    std::fprintf(stderr, "usage: otpp-limiter-hits URL ALGORITHM LIMIT HITS\n");
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
  auto l = limiter::on_redis(config, options);
  if (!l) {
    std::fprintf(stderr, "%s\n", otpp::supervision::describe(l.error()).c_str());
    return 1;
  }
  long allowed = 0;
  for (long i = 0, n = std::stol(argv[4]); i < n; ++i) {
    auto d = (*l)->hit("shared");
    if (!d || d->degraded) {
      std::fprintf(stderr, "hit failed\n");
      return 1;
    }
    allowed += d->allowed ? 1 : 0;
  }
  std::printf("%ld\n", allowed);
  return 0;
}
