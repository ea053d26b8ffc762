# Installs the build BUILD_DIR into a fresh PREFIX, as a user's
# `cmake --install`, and checks that the installed headers stand on their
# own: <otpp/otpp.hpp> compiles with only PREFIX/include on the include path.
# Variables: BUILD_DIR, PREFIX, WORK_DIR, CXX, SANITIZE.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${PREFIX})
run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
foreach(file include/otpp/otpp.hpp include/otpp/node.hpp bin/otpp-node)
  if(NOT EXISTS ${PREFIX}/${file})
    message(FATAL_ERROR "not installed: ${PREFIX}/${file}")
  endif()
endforeach()
file(WRITE ${WORK_DIR}/all_headers.cpp "#include <otpp/otpp.hpp>\nint main() {}\n")
run_step(${CXX} -std=c++17 -fsyntax-only -I${PREFIX}/include ${WORK_DIR}/all_headers.cpp)
