// A main for a libFuzzer target in a build without libFuzzer: runs
// LLVMFuzzerTestOneInput once on each file given and on each file of each
// directory given (in name order), as `make test` does with the seed corpus.
// Each file's name goes to stderr before it runs, so a crash names its input.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// The files of `args`: files as given, directories' regular files sorted by name.
std::vector<fs::path> inputs(int argc, char** argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    fs::path arg{argv[i]};
    if (!fs::is_directory(arg)) {
      files.push_back(arg);
      continue;
    }
    std::vector<fs::path> in_dir;
    for (auto& entry : fs::directory_iterator{arg})
      if (entry.is_regular_file())
        in_dir.push_back(entry.path());
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

bool read_file(const fs::path& path, std::string& bytes) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  bytes.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
  return !in.bad();
}

} // namespace

int main(int argc, char** argv) {
  auto files = inputs(argc, argv);
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY... (runs the fuzz target once on each file)\n", argv[0]);
    return 64; // EX_USAGE
  }
  std::chrono::duration<double> slowest{0};
  fs::path slowest_file;
  for (auto& file : files) {
    std::string bytes;
    if (!read_file(file, bytes)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], file.c_str());
      return 66; // EX_NOINPUT
    }
    std::fprintf(stderr, "running %s (%zu bytes)\n", file.c_str(), bytes.size());
    auto start = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    auto took = std::chrono::steady_clock::now() - start;
    if (took > slowest) {
      slowest = took;
      slowest_file = file;
    }
  }
  std::fprintf(stderr, "ran %zu inputs; the slowest, %s, took %.3f s\n", files.size(), slowest_file.c_str(),
               slowest.count());
  return 0;
}
