// trellis_net: reads the destination a connection had before iptables REDIRECTed it (SO_ORIGINAL_DST for
// IPv4, IP6T_SO_ORIGINAL_DST for IPv6) from a socket's file descriptor. Plain C on the stable Node-API, so
// one build loads in any Node release with Node-API 8.
//
//   originalDst4(fd) / originalDst6(fd) -> { address: string, port: number } on success,
//                                        -> errno (a positive number) when getsockopt fails.
// Returning errno instead of throwing keeps error typing in TypeScript, where it is easy to test.
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

// From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>; both are 80. Defined here because
// those kernel headers clash with glibc's socket headers.
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define CHECK(env, call)                                              \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error((env), "TRELLIS_ERR_NATIVE", #call " failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value errno_value(napi_env env, int err) {
  napi_value out;
  CHECK(env, napi_create_int32(env, err, &out));
  return out;
}

static napi_value address_value(napi_env env, const char *text, unsigned port) {
  napi_value out, address, port_value;
  CHECK(env, napi_create_object(env, &out));
  CHECK(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address));
  CHECK(env, napi_create_uint32(env, port, &port_value));
  CHECK(env, napi_set_named_property(env, out, "address", address));
  CHECK(env, napi_set_named_property(env, out, "port", port_value));
  return out;
}

// Reads the single integer argument; throws a TypeError for anything else.
static int fd_argument(napi_env env, napi_callback_info info, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number ||
      napi_get_value_int32(env, argv[0], fd) != napi_ok) {
    napi_throw_type_error(env, "TRELLIS_ERR_NATIVE", "expected a file descriptor (number)");
    return 0;
  }
  return 1;
}

static napi_value original_dst4(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  memset(&sa, 0, sizeof(sa));
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &sa, &len) != 0) return errno_value(env, errno);
  char text[INET_ADDRSTRLEN];
  if (inet_ntop(AF_INET, &sa.sin_addr, text, sizeof(text)) == NULL) return errno_value(env, errno);
  return address_value(env, text, ntohs(sa.sin_port));
}

static napi_value original_dst6(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_argument(env, info, &fd)) return NULL;
  struct sockaddr_in6 sa;
  socklen_t len = sizeof(sa);
  memset(&sa, 0, sizeof(sa));
  if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &sa, &len) != 0) return errno_value(env, errno);
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &sa.sin6_addr, text, sizeof(text)) == NULL) return errno_value(env, errno);
  return address_value(env, text, ntohs(sa.sin6_port));
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"originalDst4", NULL, original_dst4, NULL, NULL, NULL, napi_enumerable, NULL},
      {"originalDst6", NULL, original_dst6, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
