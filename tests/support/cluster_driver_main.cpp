// otpp-cluster-driver CONFIG.toml: an otpp node (the same tree, cluster
// membership and HTTP endpoint as otpp-node runs from the file) that also
// takes commands on stdin, for the partition tests. Prints "ready" once the
// node runs; each command line starts with a tag, runs on a thread of its
// own, and answers with lines that start with the same tag:
//   T checkout POOL TIMEOUT_MS hold|release  -> T ok|<error> ELAPSED_MS UNIX_MS [text]
//     (one line per result; "hold" keeps the lease under tag T)
//   T release HELD_TAG                       -> T released
//   T status POOL                            -> T status idle=I busy=B waiting=W size=S | T error text
//   T connect HOST PORT TIMEOUT_MS           -> T ok|failed ELAPSED_MS [text]  (bounded_connect)
//   T load POOL THREADS DURATION_MS TIMEOUT_MS PAUSE_MS
//     -> T load ok=.. timeout=.. node_down=.. other=.. double=.. echo_failed=.. max_ms=.. [first_other=text] [first_node_down=text]
//     (THREADS threads check out, ask the worker to echo, check in; "double":
//      a worker handed out while another thread of this process held it
//      within the same connection to its node; "..._after_down": the node
//      went down and up in between, which voids the earlier lease)
//   T hits URL COUNT TIMEOUT_MS fail_closed|fail_open
//     -> T hits allowed=.. denied=.. degraded=.. max_ms=..  (token bucket, key "k", near-infinite capacity)
//   T recover URL TIMEOUT_MS fail_closed|fail_open BOUND_MS
//     -> T recovered ELAPSED_MS HITS | T not_recovered  (hits until one is not degraded)
// Logs go to stderr. Runs until stdin closes.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "otpp/actors/cluster/bounded_connect.hpp"
#include "otpp/actors/cluster/cluster.hpp"
#include "otpp/actors/cluster/wire.hpp"
#include "otpp/actors/pool/pool.hpp"
#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/config/node.hpp"
#include "otpp/config/loader.hpp"
#include "otpp/supervision/errors.hpp"

using namespace otpp;
using clock_type = std::chrono::steady_clock;

namespace {

std::mutex out_mtx;

void say(const std::string& line) {
  std::lock_guard<std::mutex> guard{out_mtx};
  std::cout << line << std::endl;
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

int64_t ms_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
}

std::string error_name(const caf::error& err) {
  if (err.category() == pool::pool_errc_category)
    return pool::to_string(static_cast<pool::pool_errc>(err.code()));
  if (err.category() == cluster::cluster_errc_category)
    return cluster::to_string(static_cast<cluster::cluster_errc>(err.code()));
  return "other";
}

struct driver {
  explicit driver(config::node& n) : node(n) {}

  config::node& node;
  std::mutex mtx;
  std::map<std::string, pool::lease> held;
  std::map<std::string, std::shared_ptr<rate_limit::limiter>> limiters;

  caf::expected<pool::pool_ref> find(const std::string& name) { return pool::find_pool(node.system(), name); }

  // The last transition of the node of `pool@node` as this node saw it: two
  // leases with the same value were taken within one connection to it.
  int64_t connection_of(const std::string& name) {
    auto at = name.find('@');
    auto* m = cluster::find_membership(node.system());
    if (at == std::string::npos || !m)
      return 0;
    for (auto& p : m->peers())
      if (p.name == name.substr(at + 1))
        return p.since_unix_ms;
    return 0;
  }

  void checkout(const std::string& tag, std::istringstream& args) {
    std::string name, mode;
    long timeout = 0;
    args >> name >> timeout >> mode;
    auto p = find(name);
    if (!p)
      return say(tag + " " + error_name(p.error()) + " 0 " + std::to_string(unix_ms()) + " "
                 + supervision::describe(p.error()));
    auto start = clock_type::now();
    auto l = p->checkout(true, std::chrono::milliseconds{timeout});
    auto elapsed = std::to_string(ms_since(start)) + " " + std::to_string(unix_ms());
    if (!l)
      return say(tag + " " + error_name(l.error()) + " " + elapsed + " " + supervision::describe(l.error()));
    if (mode == "hold") {
      std::lock_guard<std::mutex> guard{mtx};
      held[tag] = std::move(*l);
    }
    say(tag + " ok " + elapsed);
  }

  void release(const std::string& tag, std::istringstream& args) {
    std::string which;
    args >> which;
    pool::lease l;
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (auto i = held.find(which); i != held.end()) {
        l = std::move(i->second);
        held.erase(i);
      }
    }
    l.release();
    say(tag + " released");
  }

  void status(const std::string& tag, std::istringstream& args) {
    std::string name;
    args >> name;
    auto p = find(name);
    if (!p)
      return say(tag + " error " + supervision::describe(p.error()));
    auto s = p->status_or_error();
    if (!s)
      return say(tag + " error " + supervision::describe(s.error()));
    say(tag + " status idle=" + std::to_string(s->idle) + " busy=" + std::to_string(s->busy)
        + " waiting=" + std::to_string(s->waiting) + " size=" + std::to_string(s->size));
  }

  void connect(const std::string& tag, std::istringstream& args) {
    std::string host;
    int port = 0;
    long timeout = 0;
    args >> host >> port >> timeout;
    auto start = clock_type::now();
    auto r = cluster::bounded_connect(node.system(), host, static_cast<uint16_t>(port),
                                      std::chrono::milliseconds{timeout});
    auto elapsed = std::to_string(ms_since(start));
    say(tag + (r ? " ok " + elapsed : " failed " + elapsed + " " + supervision::describe(r.error())));
  }

  void load(const std::string& tag, std::istringstream& args) {
    std::string name;
    int threads = 1;
    long duration = 0, timeout = 0, pause = 0;
    args >> name >> threads >> duration >> timeout >> pause;
    auto p = find(name);
    if (!p)
      return say(tag + " error " + supervision::describe(p.error()));
    std::atomic<long> ok{0}, timed_out{0}, node_down{0}, other{0}, twice{0}, twice_after_down{0}, echo_failed{0},
      echo_failed_after_down{0}, max_ms{0};
    std::mutex seen_mtx;
    std::map<caf::actor_addr, int64_t> in_use; // worker -> the connection it was checked out in
    std::string first, first_other;
    auto until = clock_type::now() + std::chrono::milliseconds{duration};
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t)
      running.emplace_back([&] {
        caf::scoped_actor self{node.system()};
        while (clock_type::now() < until) {
          auto start = clock_type::now();
          auto l = p->checkout(true, std::chrono::milliseconds{timeout});
          long took = ms_since(start);
          for (long m = max_ms; took > m && !max_ms.compare_exchange_weak(m, took);) {
          }
          if (!l) {
            auto what = error_name(l.error());
            (what == "timeout" ? timed_out : what == "node_down" ? node_down : other)++;
            {
              std::lock_guard<std::mutex> guard{seen_mtx};
              auto& text = what == "node_down" ? first : first_other;
              if (what != "timeout" && text.empty())
                text = supervision::describe(l.error());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{std::max(pause, 1L)}); // a down node answers at once
            continue;
          }
          ++ok;
          auto connection = connection_of(name);
          bool mine = false;
          {
            std::lock_guard<std::mutex> guard{seen_mtx};
            auto [i, fresh] = in_use.emplace(l->worker().address(), connection);
            mine = fresh;
            if (!fresh)
              (i->second == connection ? twice : twice_after_down)++;
          }
          bool echoed = false;
          self->request(l->worker(), std::chrono::seconds{5}, std::string{"ping"})
            .receive([&](std::string& x) { echoed = x == "ping"; }, [&](caf::error&) {});
          if (!echoed)
            (connection_of(name) == connection ? echo_failed : echo_failed_after_down)++;
          if (mine) {
            std::lock_guard<std::mutex> guard{seen_mtx};
            in_use.erase(l->worker().address());
          }
          l->release();
          if (pause > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds{pause}); // pacing, not synchronisation
        }
      });
    for (auto& t : running)
      t.join();
    say(tag + " load ok=" + std::to_string(ok) + " timeout=" + std::to_string(timed_out)
        + " node_down=" + std::to_string(node_down) + " other=" + std::to_string(other)
        + " double=" + std::to_string(twice) + " double_after_down=" + std::to_string(twice_after_down)
        + " echo_failed=" + std::to_string(echo_failed)
        + " echo_failed_after_down=" + std::to_string(echo_failed_after_down)
        + " max_ms=" + std::to_string(max_ms) + (first_other.empty() ? "" : " first_other=" + first_other)
        + (first.empty() ? "" : " first_node_down=" + first));
  }

  caf::expected<std::shared_ptr<rate_limit::limiter>> limiter(const std::string& url, long timeout,
                                                               const std::string& policy) {
    std::lock_guard<std::mutex> guard{mtx};
    auto key = url + " " + std::to_string(timeout) + " " + policy;
    if (auto i = limiters.find(key); i != limiters.end())
      return i->second;
    rate_limit::limiter_config c;
    c.name = "partition_" + policy;
    c.algorithm = rate_limit::algorithm::token_bucket;
    c.capacity = c.limit = 1'000'000'000;
    c.scale_ms = 1'000'000'000'000;
    c.rate_per_s = 0;
    rate_limit::redis_options o;
    o.url = url;
    o.timeout = std::chrono::milliseconds{timeout};
    o.on_error = policy == "fail_open" ? rate_limit::failure_policy::fail_open
                                       : rate_limit::failure_policy::fail_closed;
    auto l = rate_limit::limiter::on_redis(c, o);
    if (l)
      limiters[key] = *l;
    return l;
  }

  void hits(const std::string& tag, std::istringstream& args) {
    std::string url, policy;
    long count = 0, timeout = 0;
    args >> url >> count >> timeout >> policy;
    auto l = limiter(url, timeout, policy);
    if (!l)
      return say(tag + " error " + supervision::describe(l.error()));
    long allowed = 0, denied = 0, degraded = 0, errors = 0, max_ms = 0;
    for (long i = 0; i < count; ++i) {
      auto start = clock_type::now();
      auto d = (*l)->hit("k");
      max_ms = std::max<long>(max_ms, ms_since(start));
      if (!d)
        ++errors;
      else
        (d->allowed ? allowed : denied)++, degraded += d->degraded ? 1 : 0;
    }
    say(tag + " hits allowed=" + std::to_string(allowed) + " denied=" + std::to_string(denied)
        + " degraded=" + std::to_string(degraded) + " errors=" + std::to_string(errors)
        + " max_ms=" + std::to_string(max_ms));
  }

  void recover(const std::string& tag, std::istringstream& args) {
    std::string url, policy;
    long timeout = 0, bound = 0;
    args >> url >> timeout >> policy >> bound;
    auto l = limiter(url, timeout, policy);
    if (!l)
      return say(tag + " error " + supervision::describe(l.error()));
    auto start = clock_type::now();
    for (long n = 1; ms_since(start) <= bound; ++n) {
      auto d = (*l)->hit("k");
      if (d && !d->degraded)
        return say(tag + " recovered " + std::to_string(ms_since(start)) + " " + std::to_string(n));
      std::this_thread::sleep_for(std::chrono::milliseconds{5}); // pacing: a degraded answer can come at once
    }
    say(tag + " not_recovered");
  }

  void handle(const std::string& line) {
    std::istringstream args{line};
    std::string tag, command;
    args >> tag >> command;
    if (command == "checkout")
      checkout(tag, args);
    else if (command == "release")
      release(tag, args);
    else if (command == "status")
      status(tag, args);
    else if (command == "connect")
      connect(tag, args);
    else if (command == "load")
      load(tag, args);
    else if (command == "hits")
      hits(tag, args);
    else if (command == "recover")
      recover(tag, args);
    else
      say(tag + " unknown_command " + command);
  }
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: otpp-cluster-driver CONFIG.toml\n";
    return 64;
  }
  auto loaded = config::load_file(argv[1], config::process_environment());
  if (!loaded.config) {
    for (auto& p : loaded.problems)
      std::cerr << p.to_string() << "\n";
    return 78;
  }
  auto started = config::node::start(*loaded.config);
  if (!started) {
    std::cerr << "otpp-cluster-driver: cannot start: " << supervision::describe(started.error()) << "\n";
    return 1;
  }
  driver d{**started};
  say("ready");
  for (std::string line; std::getline(std::cin, line);)
    if (!line.empty())
      std::thread([&d, line] { d.handle(line); }).detach();
  std::_Exit(0); // commands may still wait on remote calls: no orderly stop
}
