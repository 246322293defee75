// The namespace ready::unix (mio's `unix` module) collides with the macro `unix`
// that GNU dialects (-std=gnu++NN) predefine. Build with -std=c++NN (CMake:
// CXX_EXTENSIONS OFF); the library's targets say so for you.
#pragma once
#if defined(Q_MOC_RUN) && defined(unix)
// Qt's moc predefines `unix` too; it only parses, so dropping the macro is harmless.
#undef unix
#endif
#if defined(unix)
#error \
    "ready:: needs -std=c++23, not gnu++23: the GNU dialect defines the macro 'unix' (set CXX_EXTENSIONS OFF)"
#endif
