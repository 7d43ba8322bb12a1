// vitrine: the command-line tool. Dispatch only; each subcommand is one file.

import Foundation

let commands: [any Command.Type] = [
    Demo.self, Load.self, Generate.self, Dump.self, Inspect.self, Check.self, CheckpointCommand.self, Compact.self, ShrinkCommand.self,
    Showcase.self, CartCommand.self, AddToCart.self, Checkout.self, OrderCommand.self, Restock.self, Earnings.self,
    Workload.self, GuestCommand.self,
    Intent.self, Confirm.self, Expire.self, CancelCommand.self, Settle.self, CancelLines.self, ReturnCommand.self, Conversion.self,
    Sweep.self,
    Products.self, Experts.self, FavouritesCommand.self, Feed.self, Merge.self, OrdersCommand.self,
    Pages.self,
]

exit(Dispatcher(commands: commands).run(Array(CommandLine.arguments.dropFirst())))
