# cmake -DREADYSCOPE=<readyscope binary> -DMAN_PAGE=<readyscope.1> -P man_page.cmake
# Fails unless the man page lists exactly the options `readyscope --help` lists, short and long
# names, in the same order: the page is made by help2man from --help at build time, so this
# catches a page help2man misread (an option lost or mangled) and a page older than the binary.
if(NOT READYSCOPE OR NOT MAN_PAGE)
  message(FATAL_ERROR "usage: cmake -DREADYSCOPE=<binary> -DMAN_PAGE=<readyscope.1> -P man_page.cmake")
endif()

execute_process(COMMAND ${READYSCOPE} --help RESULT_VARIABLE rc OUTPUT_VARIABLE help ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "--help exited with ${rc}: ${err}")
endif()
# A ';' in the text must not split the lists below.
string(REPLACE ";" "," help "${help}")
string(REPLACE "\n" ";" help_lines "${help}")

# --help (QCommandLineParser): after the line "Options:", one option per line starting with
# two spaces, e.g. "  -h, --help   Show..." or "  --listen <HOST:PORT>   A TCP...";
# descriptions wrap onto lines indented further. "Arguments:" ends the list.
set(from_help "")
set(in_options FALSE)
foreach(line IN LISTS help_lines)
  if(line STREQUAL "Options:")
    set(in_options TRUE)
  elseif(line STREQUAL "Arguments:")
    set(in_options FALSE)
  elseif(in_options AND line MATCHES "^  (-[A-Za-z0-9], )?(--[a-z0-9-]+)")
    if(CMAKE_MATCH_1)
      string(REPLACE ", " "" short "${CMAKE_MATCH_1}")
      list(APPEND from_help ${short})
    endif()
    list(APPEND from_help ${CMAKE_MATCH_2})
  endif()
endforeach()
list(LENGTH from_help n_help)
if(n_help LESS 10)
  message(FATAL_ERROR "found only ${n_help} options in --help (has its layout changed?): ${from_help}")
endif()

# The page (help2man): each option is a tagged paragraph, ".TP" and then a line such as
# "\fB\-h\fR, \fB\-\-help\fR" or "\fB\-\-listen\fR <HOST:PORT>".
file(STRINGS ${MAN_PAGE} man_lines)
set(from_man "")
set(after_tp FALSE)
foreach(line IN LISTS man_lines)
  if(after_tp AND line MATCHES "^\\\\fB\\\\-")
    string(REGEX MATCHALL "\\\\fB(\\\\-)+[A-Za-z0-9\\\\-]+\\\\fR" names "${line}")
    foreach(n IN LISTS names)
      string(REGEX REPLACE "^\\\\fB(.*)\\\\fR$" "\\1" n "${n}")
      string(REPLACE "\\-" "-" n "${n}")
      list(APPEND from_man ${n})
    endforeach()
  endif()
  if(line STREQUAL ".TP")
    set(after_tp TRUE)
  else()
    set(after_tp FALSE)
  endif()
endforeach()

if(NOT from_man STREQUAL from_help)
  string(REPLACE ";" " " help_text "${from_help}")
  string(REPLACE ";" " " man_text "${from_man}")
  message(FATAL_ERROR "the man page's options differ from --help's\n--help:   ${help_text}\nman page: ${man_text}")
endif()
message(STATUS "the man page lists the ${n_help} option names of --help, in order")
