#include "discover/process_tree.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "app/children_hint.h"

namespace tlstap {
namespace {

TEST(ParseProcStat, TakesPidCommAndParent) {
  std::optional<ProcessEntry> entry =
      parse_proc_stat("813 (nginx) S 812 812 812 0 -1 4194624 2 0 0 0 0 0 0 0 20 0 1 0");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->pid, 813);
  EXPECT_EQ(entry->ppid, 812);
  EXPECT_EQ(entry->comm, "nginx");
  EXPECT_EQ(entry->state, 'S');
}

TEST(ParseProcStat, CommMayHoldSpacesAndParentheses) {
  std::optional<ProcessEntry> entry = parse_proc_stat("70 (a) b (c)) R 1 70 70 0");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->pid, 70);
  EXPECT_EQ(entry->ppid, 1);
  EXPECT_EQ(entry->comm, "a) b (c)");
  std::optional<ProcessEntry> newline = parse_proc_stat("71 (x\n) S 1 70 70 0\n");
  ASSERT_TRUE(newline);
  EXPECT_EQ(newline->comm, "x\n");
  EXPECT_EQ(newline->ppid, 1);
  std::optional<ProcessEntry> init = parse_proc_stat("1 (systemd) S 0 1 1 0");
  ASSERT_TRUE(init);
  EXPECT_EQ(init->ppid, 0);
}

TEST(ParseProcStat, RejectsOtherLines) {
  for (const char* line :
       {"", "813", "813 nginx S 812", "x (nginx) S 812 1", "813 (nginx) S", "813 (nginx) S x 1",
        "813 (nginx)S 812 1", "-3 (nginx) S 812 1", "813 (nginx) S 81x2 1"}) {
    SCOPED_TRACE(line);
    EXPECT_FALSE(parse_proc_stat(line));
  }
}

std::vector<pid_t> pids_of(const std::vector<ProcessEntry>& entries) {
  std::vector<pid_t> pids;
  for (const ProcessEntry& entry : entries) pids.push_back(entry.pid);
  return pids;
}

TEST(DescendantsOf, ChildrenBeforeGrandchildrenWithoutTheRoots) {
  std::vector<ProcessEntry> table = {{1, 0, "init"},      {812, 1, "nginx"},  {900, 812, "sh"},
                                     {813, 812, "nginx"}, {901, 900, "curl"}, {500, 1, "other"},
                                     {501, 500, "other"}};
  EXPECT_EQ(pids_of(descendants_of(table, {812})), (std::vector<pid_t>{813, 900, 901}));
  EXPECT_EQ(pids_of(descendants_of(table, {900, 500})), (std::vector<pid_t>{501, 901}));
  // A root below another root is not its descendant in the answer.
  EXPECT_EQ(pids_of(descendants_of(table, {812, 900})), (std::vector<pid_t>{813, 901}));
  EXPECT_TRUE(descendants_of(table, {901}).empty());
  EXPECT_TRUE(descendants_of(table, {4242}).empty());
}

TEST(DescendantsOf, AParentLoopEnds) {
  // /proc read while pids are reused can show anything; the walk must still end.
  std::vector<ProcessEntry> table = {{10, 11, "a"}, {11, 10, "b"}, {12, 12, "c"}};
  EXPECT_EQ(pids_of(descendants_of(table, {10})), (std::vector<pid_t>{11}));
  EXPECT_TRUE(descendants_of(table, {12}).empty());
}

TEST(ReadProcessTable, FindsAForkedChildOfThisProcess) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  std::vector<ProcessEntry> table = read_process_table();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  auto found = std::find_if(table.begin(), table.end(),
                            [child](const ProcessEntry& entry) { return entry.pid == child; });
  ASSERT_NE(found, table.end());
  EXPECT_EQ(found->ppid, getpid());
  EXPECT_EQ(pids_of(descendants_of(table, {getpid()})), std::vector<pid_t>{child});
}

// A /proc with only stat files, in a fresh temporary directory.
class FakeProc {
 public:
  FakeProc() {
    char pattern[] = "/tmp/tlstap-fake-proc-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~FakeProc() { std::filesystem::remove_all(root_); }
  void add(pid_t pid, pid_t ppid, char state = 'S') {
    std::filesystem::create_directories(root_ + "/" + std::to_string(pid));
    std::ofstream(root_ + "/" + std::to_string(pid) + "/stat")
        << pid << " (worker) " << state << " " << ppid << " 1 1 0\n";
  }
  void remove(pid_t pid) { std::filesystem::remove_all(root_ + "/" + std::to_string(pid)); }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

TEST(AddDescendants, AddsRunningDescendantsAndWhatTheyForkedMeanwhile) {
  FakeProc proc;
  proc.add(1, 0);
  proc.add(812, 1);
  proc.add(813, 812);
  proc.add(814, 812);
  proc.add(700, 1);  // not below 812
  std::set<pid_t> filter = {812};
  auto add = [&](pid_t pid) {
    filter.insert(pid);
    // 813 forks 900 after /proc was read, before 813 was in the filter: BPF missed it.
    if (pid == 813) proc.add(900, 813);
    return true;
  };
  std::vector<ProcessEntry> added = add_descendants(
      {812}, add, [&](pid_t pid) { filter.erase(pid); }, proc.root());
  EXPECT_EQ(pids_of(added), (std::vector<pid_t>{813, 814, 900}));
  EXPECT_EQ(filter, (std::set<pid_t>{812, 813, 814, 900}));
}

TEST(AddDescendants, TakesOutWhatExitedBeforeItWasAdded) {
  FakeProc proc;
  proc.add(812, 1);
  proc.add(813, 812);
  proc.add(814, 812);
  proc.add(815, 812, 'Z');
  std::set<pid_t> filter = {812};
  auto add = [&](pid_t pid) {
    filter.insert(pid);
    if (pid == 814) proc.remove(814);  // exited between the look and the add
    return true;
  };
  std::vector<ProcessEntry> added = add_descendants(
      {812}, add, [&](pid_t pid) { filter.erase(pid); }, proc.root());
  EXPECT_EQ(pids_of(added), std::vector<pid_t>{813});
  EXPECT_EQ(filter, (std::set<pid_t>{812, 813}));
}

TEST(ChildrenHint, CountsAndNamesChildren) {
  EXPECT_EQ(children_hint(812, "nginx", {{813, 812, "nginx"}, {814, 812, "nginx"}}),
            "pid 812 (nginx) has 2 child processes (813 nginx, 814 nginx); -p traces only 812: "
            "add --children to trace its descendants too");
  EXPECT_EQ(children_hint(812, "nginx", {{813, 812, "nginx"}}),
            "pid 812 (nginx) has 1 child process (813 nginx); -p traces only 812: add "
            "--children to trace its descendants too");
}

TEST(ChildrenHint, NamesAreTerminalSafe) {
  EXPECT_EQ(children_hint(9, "a\nb", {{10, 9, "x\x1b[2J"}}),
            "pid 9 (a\\nb) has 1 child process (10 x\\x1b[2J); -p traces only 9: add --children to "
            "trace its descendants too");
}

TEST(ChildrenHint, SaysDescendantsAndNamesAtMostThree) {
  EXPECT_EQ(children_hint(100, "supervisord",
                          {{101, 100, "sh"},
                           {102, 100, "sh"},
                           {103, 101, "postgres"},
                           {104, 103, "postgres"},
                           {105, 103, "postgres"}}),
            "pid 100 (supervisord) has 5 descendant processes (101 sh, 102 sh, 103 postgres, "
            "and 2 more); -p traces only 100: add --children to trace its descendants too");
  EXPECT_EQ(children_hint(100, "sh", {{101, 100, "sh"}, {103, 101, "postgres"}}),
            "pid 100 (sh) has 2 descendant processes (101 sh, 103 postgres); -p traces only "
            "100: add --children to trace its descendants too");
}

}  // namespace
}  // namespace tlstap
