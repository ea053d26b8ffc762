# Builds examples/toml_app with nothing but g++ and pkg-config against the
# otpp installed in PREFIX, runs it and checks it (see run_until_stopped.sh).
# Variables: SOURCE_DIR, PREFIX, WORK_DIR, CXX, SANITIZE.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(COPY ${SOURCE_DIR}/examples/toml_app DESTINATION ${WORK_DIR})
file(GLOB_RECURSE pc_files ${PREFIX}/lib*/otpp.pc)
list(LENGTH pc_files found)
if(NOT found EQUAL 1)
  message(FATAL_ERROR "expected one otpp.pc under ${PREFIX}/lib*, found: ${pc_files}")
endif()
get_filename_component(pc_dir ${pc_files} DIRECTORY)
run_step(bash -c "cd ${WORK_DIR}/toml_app && ${CXX} -std=c++17 ${consumer_flags} main.cpp -o toml_app \
$(PKG_CONFIG_PATH=${pc_dir} pkg-config --cflags --libs otpp)")
run_example(toml_app ${WORK_DIR}/toml_app ${WORK_DIR}/toml_app)
