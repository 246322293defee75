# ready_add_qtest(NAME <name> SOURCES <file>... [LIBS <lib>...] [LABELS <label>...])
#
# One QtTest executable, registered with CTest under the same name. It links
# Qt6::Test, the given libraries and ready_warnings; AUTOMOC handles
# `#include "<name>.moc"`. Every test runs headless (QT_QPA_PLATFORM=offscreen)
# and is killed after 120 s so a hung poll cannot stall CI.
function(ready_add_qtest)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME" "SOURCES;LIBS;LABELS")
  if(NOT arg_NAME OR NOT arg_SOURCES)
    message(FATAL_ERROR "ready_add_qtest: NAME and SOURCES are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ready_add_qtest(${arg_NAME}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()

  add_executable(${arg_NAME} ${arg_SOURCES})
  target_link_libraries(${arg_NAME} PRIVATE Qt6::Test ${arg_LIBS} ready_warnings)
  set_target_properties(${arg_NAME} PROPERTIES AUTOMOC ON)

  add_test(NAME ${arg_NAME} COMMAND ${arg_NAME})
  set_tests_properties(${arg_NAME} PROPERTIES
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen"
    LABELS "${arg_LABELS}"
    TIMEOUT 120)
endfunction()
