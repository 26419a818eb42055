// EveWriter against real files: buffering, append, logrotate-style reopen
// after a rename, and write/open errors that name the path and the reason.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>

#include "alert/eve_writer.hpp"
#include "tests/alert/eve_check.hpp"

using namespace vtap::alert;
using vtap::test::read_file;
using vtap::test::TempDir;

TEST_CASE("the writer buffers lines, writes them on flush and counts them", "[alert][writer]") {
    TempDir dir;
    auto w = EveWriter::open(dir / "eve.json");
    REQUIRE(w);
    REQUIRE(w->write_line("{\"a\":1}\n"));
    REQUIRE(w->write_lines("{\"b\":2}\n{\"c\":3}\n"));
    CHECK(read_file(dir / "eve.json").empty());  // still buffered
    CHECK(w->counters().written.get() == 0);
    REQUIRE(w->flush());
    CHECK(read_file(dir / "eve.json") == "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    CHECK(w->counters().written.get() == 3);
    CHECK(w->counters().write_errors.get() == 0);
}

TEST_CASE("the writer appends to an existing file and flushes when it is destroyed", "[alert][writer]") {
    TempDir dir;
    vtap::test::write_file(dir / "eve.json", "old\n");
    {
        auto w = EveWriter::open(dir / "eve.json");
        REQUIRE(w);
        REQUIRE(w->write_line("new\n"));
    }
    CHECK(read_file(dir / "eve.json") == "old\nnew\n");
    struct stat st {};
    REQUIRE(stat((dir / "eve.json").c_str(), &st) == 0);
}

TEST_CASE("a full buffer is written out before the next line, a huge line goes straight through",
          "[alert][writer]") {
    TempDir dir;
    auto w = EveWriter::open(dir / "eve.json", 16);
    REQUIRE(w);
    REQUIRE(w->write_line("0123456789\n"));  // 11 bytes: buffered
    CHECK(read_file(dir / "eve.json").empty());
    REQUIRE(w->write_line("abcdefghij\n"));  // would make 22 > 16: the first is written
    CHECK(read_file(dir / "eve.json") == "0123456789\n");
    const std::string big(100, 'x');
    REQUIRE(w->write_line(big + "\n"));      // larger than the buffer: both go out now
    CHECK(read_file(dir / "eve.json") == "0123456789\nabcdefghij\n" + big + "\n");
    CHECK(w->counters().written.get() == 3);
    CHECK(w->buffered_bytes() == 0);
}

TEST_CASE("after logrotate renames the file, reopen starts a new one at the path", "[alert][writer]") {
    TempDir dir;
    const std::string path = dir / "eve.json";
    auto w = EveWriter::open(path);
    REQUIRE(w);
    REQUIRE(w->write_line("A\n"));
    REQUIRE(w->flush());
    REQUIRE(std::rename(path.c_str(), (path + ".1").c_str()) == 0);
    REQUIRE(w->write_line("B\n"));  // still buffered: belongs to the old file
    REQUIRE(w->reopen());
    REQUIRE(w->write_line("C\n"));
    REQUIRE(w->flush());
    CHECK(read_file(path + ".1") == "A\nB\n");
    CHECK(read_file(path) == "C\n");
    CHECK(w->counters().reopens.get() == 1);

    // The signal-handler route: request_reopen() only marks, service() reopens.
    REQUIRE(std::rename(path.c_str(), (path + ".2").c_str()) == 0);
    w->request_reopen();
    REQUIRE(w->write_line("D\n"));
    REQUIRE(w->service());
    REQUIRE(w->service());  // a second call without a request does nothing
    REQUIRE(w->write_line("E\n"));
    REQUIRE(w->flush());
    CHECK(read_file(path + ".2") == "C\nD\n");
    CHECK(read_file(path) == "E\n");
    CHECK(w->counters().reopens.get() == 2);
    CHECK(w->counters().written.get() == 5);
}

TEST_CASE("a failed write names the path and the reason and counts the lines lost", "[alert][writer]") {
    auto w = EveWriter::open("/dev/full");
    REQUIRE(w);
    REQUIRE(w->write_lines("{\"a\":1}\n{\"b\":2}\n"));
    auto r = w->flush();
    REQUIRE_FALSE(r);
    CHECK(r.error().where == "/dev/full");
    CHECK_THAT(r.error().what, Catch::Contains("No space left on device"));
    CHECK_THAT(r.error().what, Catch::Contains("2 alert line(s) lost"));
    CHECK(w->counters().write_errors.get() == 1);
    CHECK(w->counters().lost.get() == 2);
    CHECK(w->counters().written.get() == 0);
    CHECK(w->buffered_bytes() == 0);  // dropped and counted, not retried forever
}

TEST_CASE("a path that cannot be opened is an error naming it and the reason", "[alert][writer]") {
    auto w = EveWriter::open("/nonexistent-vtapd-dir/eve.json");
    REQUIRE_FALSE(w);
    CHECK(w.error().where == "/nonexistent-vtapd-dir/eve.json");
    CHECK_THAT(w.error().what, Catch::Contains("No such file or directory"));
    CHECK_FALSE(EveWriter::open(""));
}

TEST_CASE("a failed reopen is reported and writing resumes once the path works again", "[alert][writer]") {
    TempDir dir;
    const std::string sub = dir / "logs";
    REQUIRE(mkdir(sub.c_str(), 0755) == 0);
    auto w = EveWriter::open(sub + "/eve.json");
    REQUIRE(w);
    REQUIRE(std::rename(sub.c_str(), (dir / "gone").c_str()) == 0);
    auto r = w->reopen();
    REQUIRE_FALSE(r);
    CHECK(r.error().where == sub + "/eve.json");
    REQUIRE(w->write_line("lost\n"));
    CHECK_FALSE(w->flush());
    CHECK(w->counters().lost.get() == 1);
    REQUIRE(mkdir(sub.c_str(), 0755) == 0);
    REQUIRE(w->write_line("back\n"));
    REQUIRE(w->flush());
    CHECK(read_file(sub + "/eve.json") == "back\n");
}

TEST_CASE("stdout as output reopens without closing it", "[alert][writer]") {
    auto w = EveWriter::open("-");
    REQUIRE(w);
    REQUIRE(w->reopen());
    CHECK(w->counters().reopens.get() == 0);
    CHECK(fcntl(1, F_GETFD) != -1);
}
