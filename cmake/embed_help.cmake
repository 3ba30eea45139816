# Turn each doc/cmd/<name>.md into a C string `ek_help_<name>` and a table
# {name, text} so `eodkit <name> --help` prints the page the docs show.
# Usage: cmake -DOUT=file.c -DPAGES="a.md|b.md" -P embed_help.cmake
string(REPLACE "|" ";" PAGES "${PAGES}")
set(body "/* Generated from the pages in doc/cmd by cmake/embed_help.cmake. */\n")
string(APPEND body "#include <stddef.h>\n#include \"help.h\"\n\n")
set(table "const ek_help_page ek_help_pages[] = {\n")
foreach(page IN LISTS PAGES)
  get_filename_component(name ${page} NAME_WE)
  file(READ ${page} text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
  string(APPEND body "static const char help_${name}[] =\n    \"${text}\";\n\n")
  string(APPEND table "    {\"${name}\", help_${name}},\n")
endforeach()
string(APPEND table "    {NULL, NULL}\n};\n")
file(WRITE ${OUT} "${body}${table}")
