import Containerd
import Logging
import OCISpec

/// Keeps ``ContainerdImages`` current from containerd's image events (``ContainerdClient/
/// followImages(subscribed:handle:)``): each create, update or delete re-reads that name; each
/// (re)subscription re-lists every name, so what changed while the stream was down is caught.
/// When containerd goes away (a restart), it says so in the log and subscribes again, waiting
/// 0.1, 0.2 ... up to 5 s between attempts.
package struct ContainerdNameFollower: Sendable {
    let client: ContainerdClient
    let images: ContainerdImages
    let logger: Logger
    let prepare: @Sendable (Descriptor) async throws -> Void

    /// - Parameter prepare: runs before a name is shown moved to a target (what reading it
    ///   needs: ``ContainerdSource/prepare(_:in:)``); a failure leaves the name where it was.
    package init(client: ContainerdClient, images: ContainerdImages, logger: Logger, prepare: @escaping @Sendable (Descriptor) async throws -> Void = { _ in })
    {
        self.client = client
        self.images = images
        self.logger = logger
        self.prepare = prepare
    }

    /// Follows until the task is cancelled.
    package func run() async {
        var pause = Duration.milliseconds(100)
        var lost = false
        let (client, images, logger, prepare) = (client, images, logger, prepare)
        while !Task.isCancelled {
            let subscribed = Latch()
            do throws(ContainerdError) {
                try await client.followImages(
                    subscribed: { [wasLost = lost] in
                        subscribed.set()
                        if let all = try? await client.images() {
                            for image in all where (try? images.image(named: image.name))??.target != image.target {
                                try? await prepare(image.target)
                            }
                            images.replaceAll(all)
                        }
                        if wasLost { logger.notice("following containerd's names again (namespace \(client.namespace))") }
                    },
                    handle: { event in
                        do {
                            let image = event.kind == .delete ? nil : try await client.image(named: event.name)
                            if let image { try await prepare(image.target) }
                            images.set(event.name, to: image)
                        } catch {
                            logger.warning("cannot read image \(event.name) from containerd after its \(event.kind) event: \(error)")
                        }
                    })
            } catch {
                if Task.isCancelled { return }
                if subscribed.isSet {
                    lost = false
                    pause = .milliseconds(100)
                }
                if !lost { logger.warning("lost containerd's image events (\(error)); subscribing again") }
                lost = true
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(5))
        }
    }
}
