// Opening a database and recovering it.
//
//   1. Create the file if missing (written under a temporary name, synced, then renamed, so a
//      crash never leaves a half-made database under the real name). Lock it (flock).
//   2. Read both meta slots; keep the valid one with the higher checkpoint sequence. Neither
//      has our magic: not a database. Magic but a newer version: unsupported.
//   3. Check the file holds every page the meta counts; load the free-list chain.
//   4. If the log's header has the meta's generation, re-execute each valid record in txid
//      order from meta.txid + 1, stopping at the first torn or foreign one (the tail).
//   5. Checkpoint: the recovered state becomes the base and the log starts a new generation,
//      so nothing of the old tail can ever be mistaken for a new record.

import Glibc

enum Recovery {
    struct OpenedFiles {
        var dataFile: StorageFile
        var pager: Pager
        var meta: Meta
        var allocator: PageAllocator
        var log: WriteAheadLog
        var logHeader: WriteAheadLog.Header?
        var lockDescriptor: Int32
    }

    static func logPath(for path: String) -> String { path + "-wal" }

    static func openFiles(path: String, options: DatabaseOptions) throws -> OpenedFiles {
        let fs = options.fileSystem
        if !fs.fileExists(path: path) { try create(path: path, fs: fs) }
        // The lock lives on a descriptor of its own: the map keeps the data file's open file
        // description alive until it is unmapped, and a flock on that description would
        // outlive close().
        let lockDescriptor = try Syscalls.open(path, flags: O_RDONLY)
        do {
            try Syscalls.lockExclusive(lockDescriptor, path: path)
        } catch {
            Syscalls.close(lockDescriptor)
            throw error
        }
        let dataFile: StorageFile
        do {
            dataFile = try fs.open(path: path, create: false)
        } catch {
            Syscalls.close(lockDescriptor)
            throw error
        }
        do {
            var size = try dataFile.size()
            if size == 0 {
                // An empty file (made by `touch`, say): make it a database in place.
                try dataFile.write(Meta.initial.encode(), at: Int64(PageLayout.size))
                var zero = Meta.initial
                zero.checkpointSequence = 0
                try dataFile.write(zero.encode(), at: 0)
                try dataFile.sync()
                size = try dataFile.size()
            }
            let meta = try readMeta(dataFile, size: size, path: path)
            let needed = Int64(meta.pageCount) * Int64(PageLayout.size)
            if size < needed { throw StoreError.truncatedFile(expectedBytes: needed, actualBytes: size) }
            let pager = try Pager(file: dataFile, initialPageCount: meta.pageCount, minimumMapBytes: options.minimumMapBytes)
            let mapping = try pager.ensureMapped(pageCount: meta.pageCount)
            let (free, chain) = try loadFreeList(meta: meta, pager: pager, mapping: mapping)
            let allocator = PageAllocator(pageCount: meta.pageCount, free: free, chain: chain)
            let logFile = try fs.open(path: logPath(for: path), create: true)
            let header: WriteAheadLog.Header?
            do {
                header = try WriteAheadLog.readHeader(logFile)
            } catch {
                logFile.close()
                throw error
            }
            let log = try WriteAheadLog(file: logFile, generation: meta.logGeneration, baseTxid: meta.txid)
            return OpenedFiles(dataFile: dataFile, pager: pager, meta: meta, allocator: allocator, log: log,
                               logHeader: header, lockDescriptor: lockDescriptor)
        } catch {
            dataFile.close()
            Syscalls.close(lockDescriptor)
            throw error
        }
    }

    private static func create(path: String, fs: any StorageFileSystem) throws {
        let temporary = path + ".creating"
        let f = try fs.open(path: temporary, create: true)
        defer { f.close() }
        try f.truncate(to: 0)
        var zero = Meta.initial
        zero.checkpointSequence = 0
        try f.write(zero.encode(), at: 0)
        try f.write(Meta.initial.encode(), at: Int64(PageLayout.size))
        try f.sync()
        if rename(temporary, path) != 0 { throw StoreError.io(operation: "rename", path: temporary, errno: errno) }
        try fs.syncDirectory(of: path)
    }

    static func readMeta(_ file: StorageFile, size: Int64, path: String) throws -> Meta {
        let twoPages = 2 * PageLayout.size
        guard size >= Int64(twoPages), let bytes = try file.readBytes(count: twoPages, at: 0) else {
            if let head = try file.readBytes(count: 8, at: 0), head == MetaPage.magic {
                throw StoreError.truncatedFile(expectedBytes: Int64(twoPages), actualBytes: size)
            }
            throw StoreError.notADatabase(path: path)
        }
        var best: Meta? = nil
        var sawMagic = false
        var problems: [String] = []
        for slot in 0..<2 {
            let page = Array(bytes[(slot * PageLayout.size)..<((slot + 1) * PageLayout.size)])
            switch Meta.decode(page) {
            case .valid(let m):
                sawMagic = true
                if m.slot != UInt64(slot) { problems.append("slot \(slot) holds sequence \(m.checkpointSequence)"); continue }
                if best == nil || m.checkpointSequence > best?.checkpointSequence ?? 0 { best = m }
            case .wrongMagic:
                problems.append("slot \(slot): no magic number")
            case .newerVersion(let v):
                throw StoreError.unsupportedFormatVersion(found: v, supported: MetaPage.formatVersion)
            case .damaged(let reason):
                sawMagic = true
                problems.append("slot \(slot): \(reason)")
            }
        }
        if let best { return best }
        if !sawMagic { throw StoreError.notADatabase(path: path) }
        throw StoreError.corruptPage(page: 0, reason: "no valid meta page (" + problems.joined(separator: "; ") + ")")
    }

    static func loadFreeList(meta: Meta, pager: Pager, mapping: Mapping) throws -> (free: [PageNumber], chain: [PageNumber]) {
        var free: [PageNumber] = []
        var chain: [PageNumber] = []
        var seen = Set<PageNumber>()
        var p = meta.freeListHead
        while p != 0 {
            guard seen.insert(p).inserted else { throw StoreError.corruptPage(page: p, reason: "free-list chain loops") }
            let view = try pager.page(p, in: mapping, limit: meta.pageCount)
            guard view.kindByte == PageKind.freeList.rawValue else {
                throw StoreError.corruptPage(page: p, reason: "expected a free-list page, found kind \(view.kindByte)")
            }
            chain.append(p)
            for i in 0..<view.count {
                let e = view.u64(PageLayout.headerSize + 8 * i)
                guard e >= 2 && e < meta.pageCount else {
                    throw StoreError.corruptPage(page: p, reason: "free-list entry \(e) out of range")
                }
                free.append(e)
            }
            p = view.next
        }
        if UInt64(free.count) != meta.freeCount {
            throw StoreError.corruptPage(page: meta.freeListHead, reason: "free list holds \(free.count) pages, meta says \(meta.freeCount)")
        }
        return (free, chain)
    }
}

extension Database {
    /// Replays the log (if it continues the meta's checkpoint), then checkpoints.
    func recover(logHeader: WriteAheadLog.Header?) throws {
        writer.lock()
        defer { writer.unlock() }
        if let header = logHeader {
            if header.generation > meta.logGeneration {
                throw StoreError.corruptLog(offset: 0, reason: "log generation \(header.generation) is newer than the database's \(meta.logGeneration) (the newest meta page is lost)")
            }
            if header.generation == meta.logGeneration {
                guard header.baseTxid == meta.txid else {
                    throw StoreError.corruptLog(offset: 0, reason: "log continues txid \(header.baseTxid), database is at \(meta.txid)")
                }
                replaying = true
                defer { replaying = false }
                _ = try WriteAheadLog.scan(log.file, generation: header.generation, firstTxid: meta.txid + 1) { record in
                    let tx = WriteTransaction(database: self, base: latest)
                    guard tx.txid == record.txid else {
                        throw StoreError.corruptLog(offset: record.endOffset, reason: "txid \(record.txid) out of sequence")
                    }
                    for op in record.operations { try tx.apply(op) }
                    tx.close()
                    _ = try commit(tx)
                }
            }
        }
        try checkpointLocked()
    }
}
