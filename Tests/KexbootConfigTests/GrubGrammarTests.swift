import Testing
import KexbootCore
@testable import KexbootConfig

@Suite struct GrubGrammarTests {
    @Test func ifElifElse() {
        let i = interpreter().run("""
        if false; then a=1; elif [ x = y ]; then a=2; elif true
        then
          a=3
        else a=4; fi
        if false; then b=1; else b=2; fi
        if false; then c=1; fi
        """)
        #expect(i["a"] == "3")
        #expect(i["b"] == "2")
        #expect(i["c"] == "")
        #expect(i.diagnostics.items.isEmpty)
    }

    @Test func forLoopsBreakAndContinue() {
        let i = interpreter().run("""
        out=
        for x in a b "c d" e stop f; do
          if [ "$x" = b ]; then continue; fi
          if [ "$x" = stop ]; then break; fi
          out="$out,$x"
        done
        for x in 1 2; do for y in 1 2; do pairs="$pairs $x$y"; if [ $y = 1 ]; then break 2; fi; done; done
        """)
        #expect(i["out"] == ",a,c d,e")
        #expect(i["pairs"] == " 11")
    }

    @Test func whileAndUntil() {
        let i = interpreter().run("""
        n=
        while [ "$n" != xxx ]; do n="${n}x"; done
        m=
        until [ "$m" = yy ]; do m="${m}y"; done
        """)
        #expect(i["n"] == "xxx")
        #expect(i["m"] == "yy")
    }

    @Test func functionsPositionalParametersAndReturn() {
        let i = interpreter().run("""
        function f {
          count=$#
          first=$1
          rest="$*"
          if [ "$2" = stop ]; then return 3; fi
          after=yes
        }
        f a stop c
        status=$?
        function g { setparams x y; shift; g1=$1; }
        g
        """)
        #expect(i["count"] == "3")
        #expect(i["first"] == "a")
        #expect(i["rest"] == "a stop c")
        #expect(i["after"] == "")
        #expect(i["status"] == "3")
        #expect(i["g1"] == "y")
    }

    @Test func blocksAndSemicolons() {
        let i = interpreter().run("{ a=1; b=2 }; c=3\nfunction h { d=4; }; h")
        #expect(i["a"] == "1" && i["b"] == "2" && i["c"] == "3" && i["d"] == "4")
    }

    @Test func menuentryOptions() {
        let r = grub("""
        menuentry 'One' --class debian --class os --users bob --hotkey 1 --id one-id { linux /a; }
        menuentry --id=two-id "Two" --unrestricted { linux /b; }
        menuentry 'Three' $menuentry_id_option three-id { linux /c; }
        menuentry 'Four' 'x-arg' { linux /d $1 $2; }
        hiddenentry 'Hidden' { linux /h; }
        submenu 'Sub' --id sub-id { menuentry 'Inner' { linux /i; } }
        """)
        #expect(r.titles == ["One", "Two", "Three", "Four", "Hidden", "Inner"])
        #expect(r.entries.map(\.id) == ["one-id", "two-id", "Three", "Four", "Hidden", "Inner"])
        // menuentry_id_option is unset: `three-id` is an extra argument, $1 the title.
        #expect(r.entries[3].args == "Four x-arg")
        #expect(r.entries[5].path == ["Sub", "Inner"])
    }

    @Test func syntaxErrorDropsOnlyTheBadEntry() {
        let r = grub("""
        menuentry 'Good 1' { linux /g1; }
        menuentry 'Bad' {
          linux /bad
          fi
        }
        menuentry 'Good 2' { linux /g2; }
        """)
        #expect(r.titles == ["Good 1", "Good 2"])
        let error = r.diagnostics.first { $0.severity == .error }
        #expect(error?.location == SourceLocation(file: "/boot/grub/grub.cfg", line: 4, column: 3))
        #expect(error?.message.contains("'fi'") == true)
    }

    @Test func topLevelSyntaxErrorDropsOneBlock() {
        let r = grub("""
        set timeout=3
        if [ a = a ]; then
          set timeout=9 |
        fi
        menuentry 'After' { linux /after; }
        """)
        #expect(r.timeout == 3)
        #expect(r.titles == ["After"])
        #expect(r.diagnostics.contains { $0.severity == .error && $0.location?.line == 3 })
    }

    @Test func unclosedBraceRecoversAtNextStatement() {
        let r = grub("""
        menuentry 'Unclosed' {
          linux /u
        menuentry 'Next' {
          linux /n
        }
        """)
        #expect(r.titles == ["Next"])
        let error = r.diagnostics.first { $0.severity == .error }
        #expect(error?.location?.line == 1)
        #expect(error?.message.contains("missing '}'") == true)
    }

    @Test func unterminatedQuoteIsReportedWithItsPosition() {
        let r = grub("menuentry 'ok' { linux /ok; }\necho \"never closed\nmenuentry 'x' { linux /x; }\n")
        // The quote runs to the end of the file; parsing resumes on the line after it.
        #expect(r.titles == ["ok", "x"])
        #expect(r.diagnostics.contains { $0.message.contains("unterminated double quote") && $0.location?.line == 2 && $0.location?.column == 6 })
    }

    @Test(arguments: [
        "if true; then", "if true; then a=1; else", "for x in a b; do", "while true; do",
        "function f {", "fi", "done", "then", "}", "for 1x in a; do done", "a | b", "if ; then a=1; fi",
    ])
    func malformedStatementsAreErrorsNotCrashes(text: String) {
        let r = grub(text + "\nmenuentry 'survivor' { linux /s; }\n")
        #expect(r.diagnostics.contains { $0.severity == .error })
        #expect(r.titles == ["survivor"])
    }
}
