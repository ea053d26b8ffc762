# Shared by the install, example and deb tests (included by their -P scripts).

# Runs a command; fails the test with its output unless it exits 0.
function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}")
  endif()
endfunction()

# A library built with sanitizers needs them in its consumers too.
set(consumer_flags "")
if(SANITIZE)
  set(consumer_flags "-fsanitize=${SANITIZE}")
endif()

# Configures and builds the example folder EXAMPLE_DIR in BINARY_DIR against
# the otpp found under PREFIX (find_package only).
function(build_example example_dir binary_dir prefix)
  file(REMOVE_RECURSE ${binary_dir})
  run_step(${CMAKE_COMMAND} -S ${example_dir} -B ${binary_dir} -DCMAKE_PREFIX_PATH=${prefix}
           -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS=${consumer_flags}"
           "-DCMAKE_EXE_LINKER_FLAGS=${consumer_flags}")
  run_step(${CMAKE_COMMAND} --build ${binary_dir})
endfunction()

# Runs the built example NAME in BINARY_DIR and checks its exit code and output
# (the expectations of each example are in check_example_output).
function(run_example name binary_dir source_dir)
  if(name STREQUAL "toml_app")
    # --check validates the kinds' declared arguments, with positions.
    file(READ ${source_dir}/shop.toml toml)
    string(REPLACE "region = \"eu\"" "region = \"mars\"" toml "${toml}")
    string(REPLACE "max_batch = 20" "max_bach = 20" toml "${toml}")
    file(WRITE ${binary_dir}/misused.toml "${toml}")
    execute_process(COMMAND ${binary_dir}/toml_app --check misused.toml WORKING_DIRECTORY ${binary_dir}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
    if(NOT rc EQUAL 78)
      message(FATAL_ERROR "toml_app --check misused.toml exited with ${rc} (expected 78)\n${out}${err}")
    endif()
    expect("stderr" "${err}" "misused.toml:[0-9]+:[0-9]+: pools.catalog.worker_args.region: must be one of eu, us")
    expect("stderr" "${err}" "misused.toml:[0-9]+:[0-9]+: children.order_router.args.max_bach: unknown argument \\(did you mean 'max_batch'\\?\\)")
    # Started, a restart report, then SIGTERM: bounded waits in the helper.
    run_step(bash ${CMAKE_CURRENT_LIST_DIR}/run_until_stopped.sh ${binary_dir}/toml_app ${source_dir}/shop.toml)
    return()
  endif()
  execute_process(COMMAND ${binary_dir}/${name} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 60)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} exited with ${rc}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  check_example_output(${name} "${out}" "${err}")
  message(STATUS "${name}: stdout:\n${out}")
endfunction()

# Fails unless TEXT matches REGEX.
function(expect what text regex)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what} does not match '${regex}':\n${text}")
  endif()
endfunction()

function(check_example_output name out err)
  if(name STREQUAL "supervised_app")
    expect("stdout" "${out}" "parser failed on 'oops': exception: not a number: 'oops'")
    expect("stdout" "${out}" "total: 42\n") # the counter kept its state through the parser's crash
    expect("stdout" "${out}" "children running: 2\n")
    expect("stderr" "${err}" "child_terminated supervisor=\"app\" strategy=\"one_for_one\" child=\"parser\" reason=\"exception: not a number: 'oops'\" restarts=0")
    expect("stderr" "${err}" "child_started supervisor=\"app\" strategy=\"one_for_one\" child=\"parser\" restarts=1")
  elseif(name STREQUAL "worker_pool")
    expect("stdout" "${out}" "from a thread: 12.00 EUR\n")
    expect("stdout" "${out}" "from an actor: 3.00 EUR\n")
    expect("stdout" "${out}" "idle workers: 2, busy: 0\n")
  elseif(name STREQUAL "protected_operation")
    expect("stdout" "${out}" "call 1: admitted, 24 apples in stock\ncall 2: admitted, 24 apples in stock\n")
    expect("stdout" "${out}" "call 3: rate limited, retry after [0-9]+ ms\n")
    expect("stdout" "${out}" "breaker: closed, calls recorded: 2\n")
  else()
    message(FATAL_ERROR "no expectations for example '${name}'")
  endif()
endfunction()
