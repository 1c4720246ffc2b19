// TLS to upstreams: certificates are verified against the trust store, the host name is
// checked, and verification is skipped only when a provider says so explicitly.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include <unistd.h>

#include "upstream/http_transport.h"

namespace sy::upstream {
namespace {

using tcp = net::ip::tcp;
namespace ssl = net::ssl;
using namespace std::chrono_literals;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A self-signed certificate for CN=localhost with SAN DNS:localhost only.
KeyPair make_self_signed() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x.get(), key.get(), EVP_sha256());
  KeyPair kp;
  std::unique_ptr<BIO, decltype(&BIO_free)> cb(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(cb.get(), x.get());
  kp.cert_pem = bio_string(cb.get());
  std::unique_ptr<BIO, decltype(&BIO_free)> kb(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  kp.key_pem = bio_string(kb.get());
  return kp;
}

// An HTTPS server on 127.0.0.1:0 answering every request with a small JSON body.
class TlsServer {
 public:
  TlsServer(net::io_context& ioc, const KeyPair& kp)
      : ctx_(ssl::context::tls_server),
        acceptor_(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain(net::buffer(kp.cert_pem));
    ctx_.use_private_key(net::buffer(kp.key_pem), ssl::context::pem);
    net::co_spawn(ioc, accept_loop(), [](std::exception_ptr) {});
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor_.async_accept(kTuple);
      if (ec) {
        co_return;
      }
      net::co_spawn(acceptor_.get_executor(), serve(std::move(s)), [](std::exception_ptr) {});
    }
  }
  net::awaitable<void> serve(tcp::socket s) {
    ssl::stream<tcp::socket> stream(std::move(s), ctx_);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
    if (hec) {
      co_return;
    }
    std::string carry;
    char buf[4096];
    while (carry.find("\r\n\r\n") == std::string::npos) {
      auto [ec, n] = co_await stream.async_read_some(net::buffer(buf), kTuple);
      if (ec) {
        co_return;
      }
      carry.append(buf, n);
    }
    static constexpr char kOk[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        "Connection: close\r\n\r\n{}";
    co_await net::async_write(stream, net::buffer(kOk, sizeof kOk - 1), kTuple);
  }
  ssl::context ctx_;
  tcp::acceptor acceptor_;
};

// Sends one request through a transport built with `tls` to `host`; returns the error, if any.
std::optional<Error> fetch(net::io_context& ioc, std::uint16_t port, const std::string& host,
                           const TlsOptions& tls) {
  HttpTransportOptions o;
  o.base = *parse_base_url("https://" + host + ":" + std::to_string(port) + "/v1");
  o.tls = make_tls_context(tls);
  HttpTransport transport(ioc.get_executor(), o);
  std::optional<Error> err;
  bool done = false;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        Request r;
        r.path = "/chat/completions";
        r.body = "{}";
        config::Timeouts t;
        t.connect = 3s;
        t.first_byte = 3s;
        auto ex = co_await transport.start(std::move(r), t, std::make_shared<AbortSignal>());
        if (!ex) {
          err = ex.error();
        } else {
          std::string body;
          while (true) {
            auto more = co_await (*ex)->read_some(body);
            if (!more || !*more) {
              break;
            }
          }
          EXPECT_EQ(body, "{}");
        }
        done = true;
      },
      [](std::exception_ptr) {});
  ioc.restart();
  while (!done && ioc.run_one_for(10s) > 0) {
  }
  EXPECT_TRUE(done);
  return err;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kp_ = make_self_signed();
    // Unique per process and test: ctest runs each test as its own process, in parallel.
    ca_path_ = ::testing::TempDir() + "switchyard_tls_ca_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".pem";
    std::ofstream(ca_path_) << kp_.cert_pem;
    server_ = std::make_unique<TlsServer>(ioc_, kp_);
  }
  void TearDown() override { std::remove(ca_path_.c_str()); }
  net::io_context ioc_;
  KeyPair kp_;
  std::string ca_path_;
  std::unique_ptr<TlsServer> server_;
};

TEST_F(TlsTest, TrustedThroughCaFileSucceeds) {
  auto err = fetch(ioc_, server_->port(), "localhost", TlsOptions{false, ca_path_});
  EXPECT_FALSE(err.has_value()) << (err ? err->public_message + " / " + err->detail : "");
}

TEST_F(TlsTest, UnknownIssuerIsRefusedByDefault) {
  auto err = fetch(ioc_, server_->port(), "localhost", TlsOptions{});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->kind, ErrorKind::UpstreamUnavailable);
  EXPECT_EQ(err->public_message, "upstream TLS handshake failed");
}

TEST_F(TlsTest, HostNameMismatchIsRefusedEvenWithATrustedCertificate) {
  // The certificate names DNS:localhost only; 127.0.0.1 is not it.
  auto err = fetch(ioc_, server_->port(), "127.0.0.1", TlsOptions{false, ca_path_});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->public_message, "upstream TLS handshake failed");
}

TEST_F(TlsTest, SkipVerifyIsHonouredOnlyWhenAsked) {
  auto err = fetch(ioc_, server_->port(), "127.0.0.1", TlsOptions{true, ""});
  EXPECT_FALSE(err.has_value()) << (err ? err->public_message : "");
}

}  // namespace
}  // namespace sy::upstream
