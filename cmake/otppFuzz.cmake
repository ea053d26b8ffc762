# OTPP_FUZZ=ON (clang only): everything is compiled with libFuzzer's coverage
# instrumentation, and tests/ adds the libFuzzer programs otpp-fuzz-* that
# `make fuzz` runs. The fuzz targets' corpus tests (fuzz.corpus.*) need none
# of this: they are part of every build.
if(OTPP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "OTPP_FUZZ needs clang's libFuzzer: configure with CXX=clang++ "
                        "(Debian: clang and libclang-rt-14-dev)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
