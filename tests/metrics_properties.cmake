# Included by CTest after the tests doctest_discover_tests found: the cases
# whose names start "promtool check metrics" print "SKIPPED: <reason>" when
# promtool is not installed, which CTest then reports as skipped.
foreach(test IN LISTS otpp-tests_TESTS)
  if(test MATCHES "^promtool check metrics")
    set_tests_properties("${test}" PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED:")
  endif()
endforeach()
