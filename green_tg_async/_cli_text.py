"""What `green-tg --help` and each subcommand's `--help` say, written for users."""

from __future__ import annotations

from typing import Final

__all__ = ["CREDENTIALS", "DESCRIPTION", "EPILOG", "EXIT_CODES", "HELP", "SUBCOMMANDS"]

DESCRIPTION: Final = """\
Check phone numbers for Telegram accounts, send and receive messages, log an
instance in and run bots through GREEN-API, without putting the account at
risk: every call is rate-limited, a 469 (too many look-ups) pauses the
instance for two hours, and sends are never repeated blindly."""

CREDENTIALS: Final = """\
credentials:
  The instance comes from --id-instance or GREEN_API_ID_INSTANCE, the API token
  from GREEN_API_TOKEN or --token-file FILE (never from an argument: it would
  end up in shell history and process lists), the host from GREEN_API_URL
  (default: derived from the instance). These options go before the command:
  green-tg --id-instance ID --token-file FILE COMMAND ...
  --sandbox needs none of them: it runs against a built-in fake GREEN-API."""

EXIT_CODES: Final = """\
exit codes:
  0 done   1 GREEN-API answered with an error   2 usage or configuration, or
  credentials GREEN-API refuses (401/403)   3 paused (469), or not authorized in
  time   4-6 login refused (see login -h)   130 Ctrl-C"""

EPILOG: Final = f"""\
examples:
  green-tg --sandbox check 79876543210        try it offline, no account needed
  green-tg check-file numbers.csv -o out.csv  check a file, resumable
  green-tg login --qr                         log the instance in

{CREDENTIALS}

{EXIT_CODES}

Run `green-tg COMMAND --help` for a command's options and an example."""

# Per subcommand: (one-line help for the list, example for its own --help).
SUBCOMMANDS: Final = {
    "check": (
        "check numbers for Telegram accounts, one line each",
        "green-tg check 79876543210 '+7 987 654-32-11'",
    ),
    "check-file": (
        "check every number in a file and write a CSV of results",
        "green-tg check-file numbers.csv -o results.csv\n"
        "  green-tg check-file numbers.csv -o results.csv --resume   after a pause",
    ),
    "state": (
        "show the instance state (authorized, notAuthorized, ...)",
        "green-tg state",
    ),
    "wait-ready": (
        "wait until the instance is authorized (for start-up scripts)",
        "green-tg wait-ready --timeout 300 && ./start-my-bot",
    ),
    "login": (
        "log the instance in by QR code or phone code",
        "green-tg login --qr\n  green-tg login --phone 79001234567",
    ),
    "send": ("send a text message", "green-tg send 79876543210 'hello'"),
    "receive": (
        "print queued notifications as JSON lines",
        "green-tg receive --follow",
    ),
    "bot": (
        "run a bot router by polling",
        "green-tg bot mybot:router\n"
        "  green-tg --sandbox bot mybot:router --say /start --say Ann",
    ),
    "breaker": (
        "show or clear the pause after a 469",
        "green-tg breaker status\n  green-tg breaker reset",
    ),
}

# Longer descriptions, where the one-line help is not enough.
HELP: Final = {
    "check": "Check numbers for Telegram accounts and print one line per number."
    " Numbers are international digits (spaces, dashes, brackets and a leading +"
    " are fine); --region reads national formats.",
    "check-file": "Check every number in FILE (a CSV, first column, or one number"
    " per line) and write OUT as phone,exist,chat_id,status,error,line, one row per"
    " line in input order, bad lines included. Rows go to OUT.part as they arrive;"
    " OUT is rewritten whole when the run ends. OUT must not be FILE, and an OUT"
    " that holds results needs --resume or --overwrite. At a 469 it stops sending,"
    " prints when to resume and exits 3; --resume then skips every number already"
    " answered. A 401 or 403 stops it at once (exit 2).",
    "state": "Print the instance state: authorized, notAuthorized, starting,"
    " pendingPassword, blocked or suspended.",
    "wait-ready": "Wait until the instance is authorized and print its state."
    " Exits 0 once authorized, 3 if it is not within --timeout (or is blocked or"
    " suspended).",
    "login": "Log the instance in: --qr draws a QR code to scan in Telegram"
    " (Settings > Devices > Link Desktop Device), --phone has Telegram send a code"
    " to type in. A 2FA password is asked for without echo. Then it waits until"
    " authorized.\n\nexit codes: 0 authorized (or already logged in), 2 no terminal"
    " to type into, 3 not authorized within --timeout, 4 wrong code or password,"
    " 5 Telegram refuses more attempts for now, 6 the code expired: start again."
    " --sandbox: the code is 12345.",
    "send": "Send a text message to a chat id (a phone number's chat, a user or a"
    " group) and print the message id. A send is never repeated if it may have"
    " arrived.",
    "receive": "Print queued notifications as JSON lines, deleting each once"
    " printed. Stops when the queue is empty, unless --follow.",
    "bot": "Import MODULE:ATTRIBUTE (a green_tg_async.bot.Router) and run it by"
    " polling until Ctrl-C. With --sandbox it answers the --say texts from a test"
    " user and prints the replies.",
    "breaker": "Show (status) or clear (reset) the pause a 469 put on the"
    " instance. The pause is kept in GREEN_TG_STATE (default"
    " ~/.cache/green-tg/state.sqlite3), so it outlives each run. status exits 3"
    " while paused.",
}
