import ContainerdAPI
import SwiftProtobuf

extension ContainerdClient {
    /// Follows changes to image names in this namespace (events service Subscribe, filtered to
    /// the `/images/` topics and the namespace), handing each to `handle` in order, until the
    /// stream ends (containerd stopped: `.unavailable`) or the task is cancelled.
    ///
    /// `subscribed` is called once containerd delivers this subscription's events: containerd
    /// sends a stream's headers only with its first event, so the client publishes a marker
    /// event of its own (`/layoutfs/subscribed/<random>`, seen only by subscribers of every
    /// topic such as `ctr events`), again after 10, 20, 40 ... ms, until it comes back. An
    /// image change after `subscribed` is never missed.
    /// - Throws: ``ContainerdError``; `.unavailable` when containerd goes away.
    package func followImages(subscribed: @escaping @Sendable () async -> Void, handle: @escaping @Sendable (ContainerdImageEvent) async -> Void)
        async throws(ContainerdError)
    {
        let service = Containerd_Services_Events_V1_Events.Client(wrapping: grpc)
        let (metadata, options) = (metadata, streamOptions)
        let marker = "/layoutfs/subscribed/" + String(UInt64.random(in: 1...UInt64.max), radix: 16)
        var subscription = Containerd_Services_Events_V1_SubscribeRequest()
        subscription.filters = ["namespace==\(namespace),topic~=\"^/images/\"", "namespace==\(namespace),topic==\"\(marker)\""]
        let socket = socket
        let request = subscription
        try await calling("following image events of containerd namespace \(namespace)") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                let markerSeen = Latch()
                group.addTask {
                    try await service.subscribe(request, metadata: metadata, options: options) { response in
                        for try await envelope in response.messages {
                            if envelope.topic == marker {
                                if markerSeen.set() { await subscribed() }
                            } else if let event = try Self.imageEvent(envelope) {
                                await handle(event)
                            }
                        }
                        throw ContainerdError(.unavailable, "containerd at \(socket) ended the event stream")
                    }
                }
                group.addTask {
                    var publish = Containerd_Services_Events_V1_PublishRequest()
                    publish.topic = marker
                    publish.event.typeURL = "layoutfs/subscribed"
                    var pause = Duration.milliseconds(10)
                    while !markerSeen.isSet {
                        _ = try await service.publish(publish, metadata: metadata, options: options)
                        try await Task.sleep(for: pause)
                        pause = min(pause * 2, .seconds(1))
                    }
                }
                // The first to finish: the publisher (marker seen: keep following) or the stream
                // (an error: end).
                try await group.next()
                try await group.next()
            }
        }
    }

    /// The image event an envelope carries, nil for other topics.
    static func imageEvent(_ envelope: Containerd_Services_Events_V1_Envelope) throws -> ContainerdImageEvent? {
        let bytes = envelope.event.value
        switch envelope.topic {
        case "/images/create": return ContainerdImageEvent(kind: .create, name: try Containerd_Services_Images_V1_ImageCreate(serializedBytes: bytes).name)
        case "/images/update": return ContainerdImageEvent(kind: .update, name: try Containerd_Services_Images_V1_ImageUpdate(serializedBytes: bytes).name)
        case "/images/delete": return ContainerdImageEvent(kind: .delete, name: try Containerd_Services_Images_V1_ImageDelete(serializedBytes: bytes).name)
        default: return nil
        }
    }
}
