// ready:: — mio's readiness model for Linux in C++. Include this for everything.
#pragma once

#include "ready/error.h"
#include "ready/event.h"
#include "ready/interest.h"
#include "ready/net/addr.h"
#include "ready/net/socket.h"
#include "ready/net/tcp.h"
#include "ready/net/udp.h"
#include "ready/net/unix.h"
#include "ready/owned_fd.h"
#include "ready/poll.h"
#include "ready/source.h"
#include "ready/token.h"
#include "ready/unix/eventfd.h"
#include "ready/unix/pipe.h"
#include "ready/unix/timerfd.h"
#include "ready/waker.h"
