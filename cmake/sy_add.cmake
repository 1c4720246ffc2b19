# sy_library(<part> SOURCES ... DEPS ...): one static library sy_<part> per src/<part>.
function(sy_library part)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(sy_${part} STATIC ${ARG_SOURCES})
  target_include_directories(sy_${part} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(sy_${part} PRIVATE ${SY_WARNING_FLAGS})
  target_link_libraries(sy_${part} PUBLIC ${ARG_DEPS})
endfunction()

# sy_test(<name> SOURCES ... DEPS ...): a GoogleTest binary registered with ctest.
function(sy_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${SY_WARNING_FLAGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    SY_FIXTURES_DIR="${SY_FIXTURES_DIR}" SY_TEST_FIXTURES_DIR="${SY_TEST_FIXTURES_DIR}")
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 NO_PRETTY_VALUES PROPERTIES LABELS unit)
endfunction()
