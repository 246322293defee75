# cmake -DREADYSCOPE=<readyscope binary> -DLESSONS=<resources/lessons.txt> -P list_lessons.cmake
# Fails unless `readyscope --list-lessons` exits 0 and its lines name exactly the lessons of
# LESSONS (comments and blank lines skipped), in the same order.
if(NOT READYSCOPE OR NOT LESSONS)
  message(FATAL_ERROR "usage: cmake -DREADYSCOPE=<binary> -DLESSONS=<lessons.txt> -P list_lessons.cmake")
endif()

file(STRINGS ${LESSONS} lines)
set(expected "")
foreach(line IN LISTS lines)
  string(STRIP "${line}" name)
  if(NOT name STREQUAL "" AND NOT name MATCHES "^#")
    list(APPEND expected ${name})
  endif()
endforeach()

execute_process(COMMAND ${READYSCOPE} --list-lessons
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "--list-lessons exited with ${rc}: ${err}")
endif()
# One lesson per line: its name, two spaces, its title. A ';' in a title must not split the list.
string(REPLACE ";" "," out "${out}")
string(REPLACE "\n" ";" out_lines "${out}")
set(listed "")
foreach(line IN LISTS out_lines)
  if(line STREQUAL "")
    continue()
  endif()
  if(NOT line MATCHES "^([a-z0-9_-]+)  [^ ]")
    message(FATAL_ERROR "--list-lessons: a line that is not `name  title`: \"${line}\"")
  endif()
  list(APPEND listed ${CMAKE_MATCH_1})
endforeach()

if(NOT listed STREQUAL expected)
  string(REPLACE ";" " " listed_text "${listed}")
  string(REPLACE ";" " " expected_text "${expected}")
  message(FATAL_ERROR "--list-lessons lists: ${listed_text}\nresources/lessons.txt has: ${expected_text}")
endif()
list(LENGTH expected n)
message(STATUS "--list-lessons lists the ${n} lessons of lessons.txt, in order")
