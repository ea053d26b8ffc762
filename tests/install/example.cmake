# Copies examples/EXAMPLE out of the repository, builds it against the otpp
# installed in PREFIX (find_package only), runs it and checks its exit code
# and output. Variables: SOURCE_DIR, EXAMPLE, PREFIX, WORK_DIR, SANITIZE.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(COPY ${SOURCE_DIR}/examples/${EXAMPLE} DESTINATION ${WORK_DIR})
set(example_dir ${WORK_DIR}/${EXAMPLE})
build_example(${example_dir} ${WORK_DIR}/build ${PREFIX})
run_example(${EXAMPLE} ${WORK_DIR}/build ${example_dir})
