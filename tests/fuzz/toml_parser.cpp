// toml++'s parser compiled into the loader's fuzz target, so that it is
// instrumented as the target is (sanitizers, and coverage for libFuzzer);
// these definitions take precedence over those of Debian's libtomlplusplus.so.
// Same version and settings: the headers are those the shared library was
// built from (TOML_HEADER_ONLY=0, TOML_SHARED_LIB=1 come with the target).
// Compiled without UBSan's `unreachable` check: see tests/CMakeLists.txt.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
