# Build a static vanthu binary (pure-Go SQLite, no cgo) into a small image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/sonoivu/vanthu.Version=${VERSION}" -o /vanthu ./cmd/vanthu

FROM gcr.io/distroless/static-debian12
COPY --from=build /vanthu /vanthu
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/vanthu"]
CMD ["serve"]
